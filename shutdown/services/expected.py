"""Expected effective dates of task items recounted after a calendar change (R1.3, R3.1).

The items that have not taken effect yet keep the moment their estimate counted from
(`TaskItem.expected_from`); a calendar change (rulebook.signals.calendar_updated) recounts
them on the new calendar, updates the provisional mark, and writes one audit event per task
saying which dates moved and why. Signed documents keep what was signed.
"""

from django.db import transaction
from django.db.models import Q
from django_scopes import scopes_disabled

from agency.celery_base import task_publish
from agency.models import Agency
from rulebook.policy import policy_for
from rulebook.workdays import calendar_pinned
from shutdown import rules
from shutdown.events import event_record
from shutdown.models import EventKind, TaskItem
from shutdown.states import ItemState

# Audit event kinds written by this module (plain strings, apart from shutdown's own kinds).

# Items whose shutdown has not taken effect yet: their expected dates still matter.
PENDING_ITEM_STATES = (ItemState.CHECKING, ItemState.READY, ItemState.BLOCKED, ItemState.IN_APPROVAL,
                       ItemState.APPROVED, ItemState.EXECUTING)


def _pending_items():
    return TaskItem.objects.filter(state__in=PENDING_ITEM_STATES, expected_effective_at__isnull=False).filter(
        Q(expected_from__isnull=False) | ~Q(sub_account__kind="third_party"))


def items_recompute_everywhere(*, change: dict | None = None) -> None:
    """Publish one recount per agency that has items waiting to take effect."""
    with scopes_disabled():
        agency_ids = list(_pending_items().values_list("agency_id", flat=True).distinct())
    for agency_id in agency_ids:
        task_publish("shutdown.tasks.items_recompute_expected", kwargs={"agency_id": agency_id, "change": change},
                     after_commit=False)


def items_recompute_expected(*, agency, change: dict | None = None) -> int:
    """Recount the expected effective dates (and provisional marks) of the agency's items that
    have not taken effect. Returns how many items changed."""
    policy, tz = policy_for(agency), agency.tz
    changed = []
    moves_by_task: dict[int, list[dict]] = {}
    with transaction.atomic(), calendar_pinned():
        items = list(_pending_items().filter(agency=agency).select_for_update(of=("self",))
                     .select_related("sub_account", "task"))
        for item in items:
            # Items stored before expected_from existed: personal and enterprise estimates start at earliest.
            start = item.expected_from or item.expected_effective_at
            estimate = rules.expected_effective(sub_account=item.sub_account, policy=policy, start=start, tz=tz,
                                                strategy=item.task.strategy)
            new = (estimate.earliest, estimate.latest, estimate.provisional)
            old = (item.expected_effective_at, item.expected_effective_latest_at, item.expected_is_provisional)
            if new == old:
                continue
            item.expected_effective_at, item.expected_effective_latest_at, item.expected_is_provisional = new
            item.expected_from = start
            changed.append(item)
            moves_by_task.setdefault(item.task_id, []).append({
                "item": item.pk, "account": item.sub_account.display_name,
                "from": [old[0].isoformat(), old[1].isoformat() if old[1] else None],
                "to": [new[0].isoformat(), new[1].isoformat()], "provisional": estimate.provisional})
        TaskItem.objects.bulk_update(changed, ["expected_effective_at", "expected_effective_latest_at",
                                               "expected_is_provisional", "expected_from", "updated_at"],
                                     batch_size=500)
        tasks = {i.task_id: i.task for i in changed}
        for task_id, moves in moves_by_task.items():
            event_record(agency=agency, task=tasks[task_id], kind=EventKind.ITEM_EXPECTED_RECOMPUTED, actor_label="system",
                         data={"change": change or {"reason": "recount"}, "items": moves})
    return len(changed)


def items_expected_from_submission(*, agency: Agency, items: list[TaskItem], submitted_at) -> int:
    """A tier opened: its items were submitted to the platform at `submitted_at`. Their expected
    dates now count from that moment (R1.3 processing times, R7.2 delayed review), and the
    deadlines stored when they take effect count the delayed review from it too."""
    policy, tz = policy_for(agency), agency.tz
    for item in items:
        estimate = rules.expected_effective(sub_account=item.sub_account, policy=policy, start=submitted_at, tz=tz,
                                            strategy=item.task.strategy)
        item.expected_effective_at, item.expected_effective_latest_at = estimate.earliest, estimate.latest
        item.expected_is_provisional, item.expected_from = estimate.provisional, submitted_at
    TaskItem.objects.bulk_update(items, ["expected_effective_at", "expected_effective_latest_at",
                                         "expected_is_provisional", "expected_from", "updated_at"], batch_size=500)
    return len(items)
