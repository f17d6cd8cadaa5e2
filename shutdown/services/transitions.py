"""Low-level state transitions. Every use-case service goes through these: they lock
the row, check the state machine (409 on an illegal move) and write the audit event.

`task_state_roll_up` is the one place where the states of a task's items decide the
state of the task (see its docstring for the rules)."""

from django.db import transaction
from django.utils import timezone

from agency.models import Agency
from shutdown.events import event_record
from shutdown.models import EventKind, ShutdownTask, TaskItem, Tier
from shutdown.states import (
    INACTIVE_ITEM_STATES,
    TASK_TRANSITIONS,
    ItemState,
    TaskState,
    check_item_transition,
    check_task_transition,
)

# The task states in which the task is being prepared (its items are checked, excluded, restored).
PREPARATION_TASK_STATES = (TaskState.DRAFT, TaskState.CHECKING, TaskState.BLOCKED, TaskState.READY)
FINISHED_TIER_STATES = (Tier.State.COMPLETE, Tier.State.CLOSED_WITH_FAILURES)


def task_transition(*, agency: Agency, task: ShutdownTask, to: str, actor=None, kind: EventKind | None = None,
                    data: dict | None = None, ip_address=None, user_agent: str = "") -> ShutdownTask:
    with transaction.atomic():
        locked = ShutdownTask.objects.select_for_update().get(pk=task.pk)
        check_task_transition(locked.state, to)
        before = locked.state
        locked.state = to
        locked.save(update_fields=["state", "updated_at"])
        event_record(
            agency=agency, task=locked, kind=kind or EventKind.for_task_state(to), actor=actor,
            data={"from": before, "to": to, **(data or {})}, ip_address=ip_address, user_agent=user_agent,
        )
    task.state = locked.state
    return locked


def item_transition(*, agency: Agency, item: TaskItem, to: str, actor=None, kind: EventKind | None = None,
                    data: dict | None = None, record: bool = True) -> TaskItem:
    with transaction.atomic():
        locked = TaskItem.objects.select_for_update().get(pk=item.pk)
        check_item_transition(locked.state, to)
        before = locked.state
        locked.state = to
        locked.save(update_fields=["state", "updated_at"])
        if record:
            event_record(
                agency=agency, task=locked.task, item=locked, kind=kind or EventKind.for_item_state(to), actor=actor,
                data={"from": before, "to": to, "sub_account": locked.sub_account_id, **(data or {})},
            )
    item.state = locked.state
    return locked


def items_transition_bulk(*, task: ShutdownTask, source: str, target: str) -> int:
    """Move every item of the task in `source` to `target` in one statement (no event per item:
    the caller records one event with the count). The caller holds the task lock."""
    check_item_transition(source, target)
    return TaskItem.objects.filter(task=task, state=source).update(state=target, updated_at=timezone.now())


def task_state_roll_up(*, agency: Agency, task: ShutdownTask, actor=None) -> ShutdownTask:
    """Roll the states of the task's active items (not excluded or cancelled) up into the task's state.

    While the task is prepared (draft, checking, blocked, ready):
      - an item still being checked keeps the task as it is (the pre-check run settles it);
      - no active item, or one not checked yet (draft), makes it a draft;
      - otherwise one blocked item makes it blocked;
      - otherwise (every active item ready) it is ready for approval.
    While it executes: an open tier whose active items are all done is complete; when every
    tier is complete or closed, the task is done if at least one item is done, else failed.
    In every other state (in approval, approved, done, failed, cancelled) the task moves only by
    an explicit use case (submit, the approval decisions, cancel, execution start).

    The task moves only where its state machine allows it (e.g. a draft becomes ready only
    through a pre-check), and the move is recorded as EventKind.for_task_state (`task.<state>`).
    """
    with transaction.atomic():
        task = ShutdownTask.objects.select_for_update().get(pk=task.pk)
        target = None
        if task.state in PREPARATION_TASK_STATES:
            target = _prepared_state(task)
        elif task.state == TaskState.EXECUTING:
            target = _executed_state(agency=agency, task=task, actor=actor)
        if target is not None and target != task.state and target in TASK_TRANSITIONS[task.state]:
            task = task_transition(agency=agency, task=task, to=target, actor=actor)
    return task


def _prepared_state(task: ShutdownTask) -> str | None:
    states = set(TaskItem.objects.filter(task=task).exclude(state__in=INACTIVE_ITEM_STATES)
                 .order_by().values_list("state", flat=True).distinct())  # no ordering: DISTINCT on state alone
    if ItemState.CHECKING in states:
        return None
    if not states or ItemState.DRAFT in states:
        return TaskState.DRAFT
    if ItemState.BLOCKED in states:
        return TaskState.BLOCKED
    return TaskState.READY


def _executed_state(*, agency: Agency, task: ShutdownTask, actor) -> str | None:
    for tier in Tier.objects.select_for_update().filter(task=task, state=Tier.State.OPEN).order_by("position"):
        states = set(TaskItem.objects.filter(tier=tier).exclude(state__in=INACTIVE_ITEM_STATES)
                     .order_by().values_list("state", flat=True).distinct())  # no ordering: DISTINCT on state alone
        if states <= {ItemState.DONE}:
            tier.state = Tier.State.COMPLETE
            tier.save(update_fields=["state"])
            event_record(agency=agency, task=task, kind=EventKind.TIER_COMPLETE, actor=actor, data={"tier": tier.pk})
    if Tier.objects.filter(task=task).exclude(state__in=FINISHED_TIER_STATES).exists():
        return None
    return TaskState.DONE if TaskItem.objects.filter(task=task, state=ItemState.DONE).exists() else TaskState.FAILED
