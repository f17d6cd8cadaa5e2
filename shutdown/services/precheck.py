"""Pre-checks (the system half of R4, plus the documents of R1.3/R7.3/R7.4 and the topic
hand-over of R3.3), in bulk: the number of queries does not grow with the number of items.

`precheck_start` marks the items as checking and publishes the Celery task after commit;
`precheck_run` (the task's body) computes every item's blockers in Python from one read of
the items and their accounts, then writes with bulk statements; progress is written in at
most PROGRESS_STEPS updates so the task page can show a bar.
"""

import math

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from agency.celery_base import task_publish
from agency.exceptions import Conflict, DomainValidationError
from agency.models import Agency
from rulebook.policy import policy_for
from shutdown import rules
from shutdown.events import event_record
from shutdown.models import Blocker, EventKind, ShutdownTask, TaskDocument, TaskItem
from shutdown.services.tasks import BULK_BATCH
from shutdown.services.transitions import task_state_roll_up, task_transition
from shutdown.states import EDITABLE_TASK_STATES, ItemState, TaskState

PROGRESS_STEPS = 10
ID_BATCH = 10000  # ids per UPDATE … WHERE id IN (…): one statement per 10,000 blocked items
CHECKABLE_ITEM_STATES = [ItemState.DRAFT, ItemState.BLOCKED, ItemState.READY, ItemState.CHECKING]


def precheck_start(*, agency: Agency, task: ShutdownTask, actor, item_ids: list[int] | None = None,
                   publish: bool = True) -> ShutdownTask:
    """Queue the pre-checks of every active item (or of the given items: a re-check).

    `publish=False` leaves the run to the caller (the demo seed runs it in-process)."""
    with transaction.atomic():
        task = ShutdownTask.objects.select_for_update().get(pk=task.pk)
        if task.state not in EDITABLE_TASK_STATES:
            raise Conflict(_("The task is “%(state)s”: pre-checks are only run before approval.")
                           % {"state": task.get_state_display()}, code="not_editable")
        items = TaskItem.objects.filter(task=task, state__in=CHECKABLE_ITEM_STATES)
        if item_ids is not None:
            items = items.filter(pk__in=item_ids)
        count = items.update(state=ItemState.CHECKING)
        if not count:
            raise DomainValidationError(_("There is no active item to check."), details={"items": ["none"]})
        task.progress_done, task.progress_total = 0, count
        task.save(update_fields=["progress_done", "progress_total", "updated_at"])
        if task.state != TaskState.CHECKING:
            task = task_transition(agency=agency, task=task, to=TaskState.CHECKING, actor=actor,
                                   kind=EventKind.PRECHECK_STARTED, data={"items": count})
        if publish:
            task_publish("shutdown.tasks.task_precheck", kwargs={"agency_id": agency.pk, "task_id": task.pk})
    return task


def precheck_run(*, agency: Agency, task_id: int) -> dict:
    """Check every item in state `checking`; idempotent (a second run finds nothing to do)."""
    task = ShutdownTask.objects.select_related("matrix_target").get(pk=task_id)
    if task.state != TaskState.CHECKING:
        return {"task": task_id, "skipped": task.state}
    policy = policy_for(agency)
    tz = agency.tz
    now = timezone.now()
    today = now.astimezone(tz).date()

    documents: dict[int, set[str]] = {}
    for item_id, kind in TaskDocument.objects.filter(task=task, item__isnull=False).values_list("item_id", "kind"):
        documents.setdefault(item_id, set()).add(kind)
    existing: dict[tuple[int, str], tuple[int, str]] = {
        (item_id, code): (pk, state)
        for pk, item_id, code, state in Blocker.objects.filter(task=task).values_list("pk", "item_id", "code", "state")
    }
    existing_by_item: dict[int, list[str]] = {}
    for item_id, code in existing:
        existing_by_item.setdefault(item_id, []).append(code)

    total = task.progress_total or 1
    step = max(1, math.ceil(total / PROGRESS_STEPS))
    new_blockers: list[Blocker] = []
    clear_ids: list[int] = []
    reopen_ids: list[int] = []
    blocked_ids: list[int] = []
    estimates: dict[tuple, rules.Estimate] = {}
    done = 0
    items = (TaskItem.objects.filter(task=task, state=ItemState.CHECKING)
             .select_related("sub_account", "tier").order_by("pk"))
    for item in items.iterator(chunk_size=2000):
        account = item.sub_account
        is_blocked = False
        codes = rules.precheck_codes(
            sub_account=account, strategy=task.strategy, topic_transfer_target=item.topic_transfer_target,
            documents=documents.get(item.pk, set()), today=today,
        )
        for code in codes:
            found = existing.get((item.pk, code))
            if found is None or found[1] != Blocker.State.RESOLVED:
                is_blocked = True
            if found is None:
                check, rule, _reason, _channel = rules.BLOCKERS[code]
                new_blockers.append(Blocker(agency=agency, task=task, item_id=item.pk, check_type=check, rule=rule,
                                            code=code))
            elif found[1] == Blocker.State.CLEARED:
                reopen_ids.append(found[0])
        for code in existing_by_item.get(item.pk, ()):
            pk, state = existing[(item.pk, code)]
            if code not in codes and state in Blocker.BLOCKING_STATES:
                clear_ids.append(pk)
        if is_blocked:
            blocked_ids.append(item.pk)
        key = (rules.estimate_group_key(account), item.tier_id)
        if key not in estimates:
            start = max(now, item.tier.planned_start) if item.tier and item.tier.planned_start else now
            estimates[key] = rules.expected_effective(sub_account=account, policy=policy, start=start, tz=tz,
                                                      strategy=task.strategy)
        done += 1
        if done % step == 0 and done < total:
            ShutdownTask.objects.filter(pk=task.pk).update(progress_done=done)

    with transaction.atomic():
        task = ShutdownTask.objects.select_for_update().get(pk=task.pk)
        if task.state != TaskState.CHECKING:  # reset or cancelled meanwhile: write nothing
            return {"task": task_id, "skipped": task.state}
        Blocker.objects.bulk_create(new_blockers, batch_size=BULK_BATCH)
        for ids, state in ((clear_ids, Blocker.State.CLEARED), (reopen_ids, Blocker.State.OPEN)):
            for k in range(0, len(ids), BULK_BATCH):
                Blocker.objects.filter(pk__in=ids[k:k + BULK_BATCH]).update(state=state)
        checking = TaskItem.objects.filter(task=task, state=ItemState.CHECKING)
        # One UPDATE per distinct estimate (a handful), whatever the number of items.
        by_value: dict[tuple, Q] = {}
        for ((kind, region, high_risk), tier_id), e in estimates.items():
            match = Q(tier_id=tier_id, sub_account__kind=kind, sub_account__region=region,
                      sub_account__high_risk=high_risk)
            value = (e.earliest, e.latest, e.provisional, e.start)
            by_value[value] = by_value[value] | match if value in by_value else match
        for (earliest, latest, provisional, start), match in by_value.items():
            checking.filter(match).update(expected_effective_at=earliest, expected_effective_latest_at=latest,
                                          expected_is_provisional=provisional, expected_from=start)
        # The blocked items are known from the loop: update them by id. (A join against the
        # freshly bulk-inserted blockers made PostgreSQL pick a nested loop: 25 s for 10k items.)
        blocked = 0
        for k in range(0, len(blocked_ids), ID_BATCH):
            blocked += checking.filter(pk__in=blocked_ids[k:k + ID_BATCH]).update(state=ItemState.BLOCKED)
        ready = checking.update(state=ItemState.READY)
        task.progress_done = task.progress_total
        task.checked_at = now
        task.save(update_fields=["progress_done", "checked_at", "updated_at"])
        summary = {"checked": done, "blocked": blocked, "ready": ready, "new_blockers": len(new_blockers),
                   "cleared": len(clear_ids)}
        event_record(agency=agency, task=task, kind=EventKind.PRECHECK_FINISHED, data=summary, actor_label="system")
        task = task_state_roll_up(agency=agency, task=task)
    return {"task": task_id, **summary, "state": task.state}


__all__ = ["precheck_start", "precheck_run", "PROGRESS_STEPS"]
