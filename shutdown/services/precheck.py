"""Pre-checks (the system half of R4, plus the documents of R1.3/R7.3/R7.4 and the topic
hand-over of R3.3), in bulk: the number of queries does not grow with the number of items.

`precheck_start` marks the items as checking and publishes the Celery task after commit;
`precheck_run` (the task's body) computes every item's blockers in Python from one read of
the items and their accounts, then writes with bulk statements; progress is written in at
most PROGRESS_STEPS updates so the task page can show a bar.
"""

import math

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from agency.bulksql import db_value, insert_values, update_values
from agency.celery_base import task_publish
from agency.exceptions import Conflict, DomainValidationError
from agency.models import Agency
from rulebook.policy import policy_for
from shutdown import rules
from shutdown.events import event_record
from shutdown.models import Blocker, EventKind, ShutdownTask, TaskDocument, TaskItem, Tier
from shutdown.services.transitions import task_state_roll_up, task_transition
from shutdown.states import EDITABLE_TASK_STATES, ItemState, TaskState

PROGRESS_STEPS = 10
# What the pre-check writes on each item besides its state (the expected dates of R1.3/R7.2/R7.3).
ITEM_ESTIMATE_FIELDS = ("expected_effective_at", "expected_effective_latest_at", "expected_is_provisional",
                        "expected_from")
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
    """Check every item in state `checking`; idempotent (a second run finds nothing to do).

    Reads the items with only the sub-account fields the rules use (`rules.PRECHECK_FIELDS`,
    plain tuples, no model instances), computes in Python, then writes in a fixed number of
    statements: the new blockers as rows (COPY on PostgreSQL, executemany on SQLite), the
    blockers' state changes and every item's state and expected dates each with one
    UPDATE … FROM unnest(one array per column) on PostgreSQL, an executemany on SQLite (agency.bulksql)."""
    task = ShutdownTask.objects.get(pk=task_id)
    if task.state != TaskState.CHECKING:
        return {"task": task_id, "skipped": task.state}
    policy = policy_for(agency)
    tz = agency.tz
    now = timezone.now()
    today = now.astimezone(tz).date()

    documents: dict[int, set[str]] = {}
    for item_id, kind in TaskDocument.objects.filter(task=task, item__isnull=False).values_list("item_id", "kind"):
        documents.setdefault(item_id, set()).add(kind)
    existing: dict[int, dict[str, tuple[int, str]]] = {}  # item → code → (blocker pk, state)
    for pk, item_id, code, state in Blocker.objects.filter(task=task).values_list("pk", "item_id", "code", "state"):
        existing.setdefault(item_id, {})[code] = (pk, state)
    tier_starts = dict(Tier.objects.filter(task=task, planned_start__isnull=False).values_list("pk", "planned_start"))
    rows = list(TaskItem.objects.filter(task=task, state=ItemState.CHECKING).order_by("pk").values_list(
        "pk", "tier_id", "topic_transfer_target", "shell_transition_until",
        *(f"sub_account__{name}" for name in rules.PRECHECK_FIELDS)))

    total = task.progress_total or 1
    step = max(1, math.ceil(total / PROGRESS_STEPS))
    new_blockers: list[tuple] = []  # (item_id, check_type, rule, code)
    blocker_states: list[tuple[int, str]] = []  # (blocker pk, new state)
    cleared = 0
    item_rows: list[tuple] = []  # (item pk, state, *estimate values ready for the database)
    estimates: dict[tuple, tuple] = {}
    date_fields = [TaskItem._meta.get_field(n) for n in ITEM_ESTIMATE_FIELDS]
    no_documents: set[str] = set()
    strategy = task.strategy
    blocking = set(Blocker.BLOCKING_STATES)
    # Plain strings for the database (the adapters take enum members by name, not value).
    OPEN, CLEARED = str(Blocker.State.OPEN), str(Blocker.State.CLEARED)  # noqa: N806
    BLOCKED, READY = str(ItemState.BLOCKED), str(ItemState.READY)  # noqa: N806
    done = 0
    for item_id, tier_id, topic_target, shell_until, *facts in rows:
        account = rules.AccountFacts(*facts)
        codes = rules.precheck_codes(sub_account=account, strategy=strategy, topic_transfer_target=topic_target,
                                     documents=documents.get(item_id, no_documents), today=today)
        found_codes = existing.get(item_id, {})
        is_blocked = False
        for code in codes:
            found = found_codes.get(code)
            if found is None or found[1] != Blocker.State.RESOLVED:
                is_blocked = True
            if found is None:
                check, rule, _reason, _channel = rules.BLOCKERS[code]
                new_blockers.append((item_id, str(check), rule, code))
            elif found[1] == Blocker.State.CLEARED:
                blocker_states.append((found[0], OPEN))
        for code, (pk, state) in found_codes.items():
            if code not in codes and state in blocking:
                blocker_states.append((pk, CLEARED))
                cleared += 1
        # R9.2: an item in a shell transition is submitted at its end at the earliest.
        key = (rules.estimate_group_key(account), tier_id, shell_until)
        estimate = estimates.get(key)
        if estimate is None:
            start = max(d for d in (now, tier_starts.get(tier_id), shell_until) if d is not None)
            e = rules.expected_effective(sub_account=account, policy=policy, start=start, tz=tz,
                                         strategy=task.strategy)
            estimate = estimates[key] = tuple(
                db_value(f, v) for f, v in zip(date_fields, (e.earliest, e.latest, e.provisional, e.start),
                                               strict=True))
        item_rows.append((item_id, BLOCKED if is_blocked else READY, *estimate))
        done += 1
        if done % step == 0 and done < total:
            ShutdownTask.objects.filter(pk=task.pk).update(progress_done=done)

    with transaction.atomic():
        task = ShutdownTask.objects.select_for_update().get(pk=task.pk)
        if task.state != TaskState.CHECKING:  # reset or cancelled meanwhile: write nothing
            return {"task": task_id, "skipped": task.state}
        agency_id, task_pk = agency.pk, task.pk
        insert_values(Blocker, ["agency_id", "task_id", "item_id", "check_type", "rule", "code"],
                      [(agency_id, task_pk, *row) for row in new_blockers], prepared=True)
        update_values(model=Blocker, names=["state"], rows=blocker_states, agency_id=agency.pk, prepared=True)
        # Only the items read above, and only if still being checked (a reset wins).
        update_values(model=TaskItem, names=["state", *ITEM_ESTIMATE_FIELDS], rows=item_rows, agency_id=agency.pk,
                      where="state = %s", where_params=(str(ItemState.CHECKING),), prepared=True)
        blocked = sum(1 for row in item_rows if row[1] == BLOCKED)
        task.progress_done = task.progress_total
        task.checked_at = now
        task.save(update_fields=["progress_done", "checked_at", "updated_at"])
        summary = {"checked": done, "blocked": blocked, "ready": done - blocked, "new_blockers": len(new_blockers),
                   "cleared": cleared}
        event_record(agency=agency, task=task, kind=EventKind.PRECHECK_FINISHED, data=summary, actor_label="system")
        task = task_state_roll_up(agency=agency, task=task)
    return {"task": task_id, **summary, "state": task.state}


__all__ = ["precheck_start", "precheck_run", "PROGRESS_STEPS"]
