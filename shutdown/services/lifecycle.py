"""The lifecycle of a shutdown task, in one set of services.

    create + pre-check      task_create_and_check (tasks.task_create, then precheck.precheck_start)
    pre-check run           precheck.precheck_run (ends in transitions.task_state_roll_up)
    submit                  task_enter_approval     READY → IN_APPROVAL, items too, content frozen
    approved                task_mark_approved      IN_APPROVAL → APPROVED, items too
    rejected / withdrawn    task_return_to_draft    IN_APPROVAL → DRAFT, items too
    cancel                  task_cancel             any state before execution → CANCELLED
    execute, finish         execution.execution_start, tier_start, item_mark_done, tier_close …

The approvals app decides the approval levels (rounds, stages, votes, appeals) and calls the
three approval steps here inside its own transaction. When a task is cancelled, this module
sends `task_cancelled` (shutdown.signals) so that the approvals app closes its open round and
revokes the open signature links: this app never imports the approvals app.
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from agency.exceptions import Conflict, DomainValidationError
from agency.models import Agency
from shutdown.events import event_record
from shutdown.models import EventKind, ShutdownTask, TaskItem
from shutdown.services.precheck import precheck_start
from shutdown.services.tasks import task_create
from shutdown.services.transitions import items_transition_bulk, task_transition
from shutdown.signals import task_cancelled
from shutdown.states import ItemState, TaskState

# A task in one of these states can no longer be cancelled (execution has begun or it is over).
NOT_CANCELLABLE_TASK_STATES = (TaskState.EXECUTING, TaskState.DONE, TaskState.FAILED, TaskState.CANCELLED)
# Items that keep their state when their task is cancelled.
NOT_CANCELLABLE_ITEM_STATES = (ItemState.DONE, ItemState.CANCELLED, ItemState.EXECUTING, ItemState.FAILED)


def task_lock(*, task_id: int) -> ShutdownTask:
    """The task row, locked until the end of the transaction (409 when it has gone)."""
    try:
        return ShutdownTask.objects.select_for_update().get(pk=task_id)
    except ShutdownTask.DoesNotExist as exc:
        raise Conflict(_("This task does not exist any more."), code="not_found") from exc


# --- create ------------------------------------------------------------------------------------

def task_create_and_check(*, agency: Agency, actor, title: str, strategy: str, reason: str = "", sub_account_ids=None,
                          filter_params=None, matrix_target=None, tier_rule: str | None = None,
                          batch_size: int | None = None, publish: bool = True,
                          leave_out_busy: bool = False) -> ShutdownTask:
    """Create a task (from the page or the API) and queue the pre-checks of its items at once.

    `publish=False` leaves the pre-check run to the caller (see precheck_start)."""
    with transaction.atomic():
        task = task_create(agency=agency, actor=actor, title=title, strategy=strategy, reason=reason,
                           sub_account_ids=sub_account_ids, filter_params=filter_params,
                           matrix_target=matrix_target, tier_rule=tier_rule, batch_size=batch_size,
                           leave_out_busy=leave_out_busy)
        return precheck_start(agency=agency, task=task, actor=actor, publish=publish)


# --- approval ----------------------------------------------------------------------------------

def check_submittable(task: ShutdownTask) -> None:
    if task.state != TaskState.READY:
        raise Conflict(_("Only a task that is ready for approval can be submitted (this one is “%(state)s”).")
                       % {"state": TaskState(task.state).label}, code="wrong_state")


def task_enter_approval(*, agency: Agency, task: ShutdownTask, actor, content_hash: str, submitted_at: datetime,
                        data: dict, ip_address=None, user_agent: str = "") -> ShutdownTask:
    """READY → IN_APPROVAL: the content (its hash) is frozen, the ready items wait for approval.

    `data` (round, policy, levels, comment) comes from the approvals app and goes into the event."""
    with transaction.atomic():
        locked = task_lock(task_id=task.pk)
        check_submittable(locked)
        task_transition(agency=agency, task=locked, to=TaskState.IN_APPROVAL, actor=actor,
                        kind=EventKind.APPROVAL_SUBMITTED, data=data, ip_address=ip_address, user_agent=user_agent)
        moved = items_transition_bulk(task=locked, source=ItemState.READY, target=ItemState.IN_APPROVAL)
        locked.content_hash = content_hash
        locked.submitted_by = actor
        locked.submitted_at = submitted_at
        locked.save(update_fields=["content_hash", "submitted_by", "submitted_at", "updated_at"])
        if moved:
            event_record(agency=agency, task=locked, kind=EventKind.ITEMS_IN_APPROVAL, actor=actor,
                         data={"count": moved})
    task.state = locked.state
    return locked


def task_mark_approved(*, agency: Agency, task: ShutdownTask, actor, data: dict) -> ShutdownTask:
    """IN_APPROVAL → APPROVED (the last level approved): the items are approved with it."""
    with transaction.atomic():
        locked = task_lock(task_id=task.pk)
        task_transition(agency=agency, task=locked, to=TaskState.APPROVED, actor=actor,
                        kind=EventKind.APPROVAL_APPROVED, data=data)
        moved = items_transition_bulk(task=locked, source=ItemState.IN_APPROVAL, target=ItemState.APPROVED)
        event_record(agency=agency, task=locked, kind=EventKind.ITEMS_APPROVED, actor_label="system",
                     data={"count": moved})
    task.state = locked.state
    return locked


def task_return_to_draft(*, agency: Agency, task: ShutdownTask, actor, kind: EventKind, data: dict, ip_address=None,
                         user_agent: str = "") -> ShutdownTask:
    """IN_APPROVAL → DRAFT (rejected or withdrawn): the items wait to be prepared again."""
    with transaction.atomic():
        locked = task_lock(task_id=task.pk)
        task_transition(agency=agency, task=locked, to=TaskState.DRAFT, actor=actor, kind=kind, data=data,
                        ip_address=ip_address, user_agent=user_agent)
        moved = items_transition_bulk(task=locked, source=ItemState.IN_APPROVAL, target=ItemState.DRAFT)
        event_record(agency=agency, task=locked, kind=EventKind.ITEMS_DRAFT, actor_label="system",
                     data={"count": moved})
    task.state = locked.state
    return locked


# --- cancel ------------------------------------------------------------------------------------

def task_cancel(*, agency: Agency, task: ShutdownTask, actor, comment: str = "", ip_address=None,
                user_agent: str = "") -> ShutdownTask:
    """An owner/admin stops the task for good (before execution); its open items are cancelled.

    Sends `task_cancelled` inside the transaction: the approvals app closes the open round and
    revokes the open signature links."""
    if not comment.strip():
        raise DomainValidationError(_("Say why the task is cancelled: fill in the comment."),
                                    details={"comment": [_("A cancellation needs a reason.")]})
    with transaction.atomic():
        locked = task_lock(task_id=task.pk)
        if locked.state in NOT_CANCELLABLE_TASK_STATES:
            raise Conflict(_("A task that is “%(state)s” cannot be cancelled.")
                           % {"state": TaskState(locked.state).label}, code="wrong_state")
        task_transition(agency=agency, task=locked, to=TaskState.CANCELLED, actor=actor,
                        kind=EventKind.APPROVAL_CANCELLED, data={"comment": comment}, ip_address=ip_address,
                        user_agent=user_agent)
        moved = (TaskItem.objects.filter(task=locked).exclude(state__in=NOT_CANCELLABLE_ITEM_STATES)
                 .update(state=ItemState.CANCELLED, updated_at=timezone.now()))
        event_record(agency=agency, task=locked, kind=EventKind.ITEMS_CANCELLED, actor_label="system",
                     data={"count": moved})
        task_cancelled.send(sender=ShutdownTask, agency=agency, task=locked, actor=actor)
    task.state = locked.state
    return locked
