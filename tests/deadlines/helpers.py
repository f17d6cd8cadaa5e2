"""Test helpers: a task item that took effect, with the signal the shutdown app sends."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.db import transaction
from django_scopes import scope, scopes_disabled

from shutdown.models import ShutdownTask, TaskItem
from shutdown.signals import item_effective

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def make_item(agency, account, *, strategy="shutdown", title="关停任务"):
    with scopes_disabled():
        task = ShutdownTask.objects.create(agency=agency, title=title, strategy=strategy)
        return TaskItem.objects.create(agency=agency, task=task, sub_account=account)


def take_effect(agency, item, effective_at):
    """What the shutdown app does when an item is done: send item_effective inside its transaction."""
    with scope(agency=agency), transaction.atomic():
        item.effective_at = effective_at
        item.state = "done"
        item.save(update_fields=["effective_at", "state"])
        item_effective.send(sender=TaskItem, agency=agency, item=item, effective_at=effective_at)
