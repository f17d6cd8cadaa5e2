"""Test helpers: a task item that takes effect, with the signal the shutdown app sends."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.db import transaction
from django_scopes import scope

from shutdown.models import TaskItem
from shutdown.signals import item_effective
from shutdown.states import TaskState
from tests.builders import make_task, only_item
from tests.conftest import AgencyWorld

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


# tests.builders.make_task(world, [account], **BARE_TASK): a task written directly, as the shutdown app
# leaves it before the item takes effect: no tier, nobody as its creator, task and item DRAFT.
BARE_TASK = {"service": False, "tier": False, "state": TaskState.DRAFT, "created_by": None, "title": "关停任务"}


def make_item(agency, account, *, strategy: str = "shutdown") -> TaskItem:
    """The one item of a BARE_TASK on `account` (for tests that hold an agency, not a world)."""
    return only_item(make_task(AgencyWorld(agency=agency), [account], **{**BARE_TASK, "strategy": strategy}))


def take_effect(agency, item, effective_at):
    """What the shutdown app does when an item is done: send item_effective inside its transaction."""
    with scope(agency=agency), transaction.atomic():
        item.effective_at = effective_at
        item.state = "done"
        item.save(update_fields=["effective_at", "state"])
        item_effective.send(sender=TaskItem, agency=agency, item=item, effective_at=effective_at)
