"""Execution, tier by tier (R7.1): start, mark items done or failed, close a tier.

The next tier opens only when the previous one is complete or closed with its failures
listed. Marking an item done sets its effective time, updates the sub-account's status and
sends `item_effective` inside the transaction (the deadlines app counts from it).
"""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from agency.exceptions import Conflict, DomainValidationError
from agency.models import Agency, SubAccountStatus
from agency.services.subaccounts import subaccounts_status_set
from shutdown.connectors import ConnectorResult, connector_for
from shutdown.events import event_record
from shutdown.gates import execution_blockers, tier_blockers
from shutdown.models import DocumentKind, EventKind, ShutdownTask, Strategy, TaskItem, Tier
from shutdown.services.documents import document_upload
from shutdown.services.expected import items_expected_from_submission
from shutdown.services.transitions import (
    FINISHED_TIER_STATES,
    item_transition,
    task_state_roll_up,
    task_transition,
)
from shutdown.signals import item_effective
from shutdown.states import INACTIVE_ITEM_STATES, ItemState, TaskState, check_task_transition

STATUS_AFTER = {
    Strategy.SHUTDOWN: SubAccountStatus.SHUT_DOWN,
    Strategy.DORMANT: SubAccountStatus.DORMANT,
    Strategy.RESTRICT: SubAccountStatus.RESTRICTED,
    Strategy.MATRIX: SubAccountStatus.ACTIVE,  # R5.3: the old account stays, as a funnel
}


def execution_start(*, agency: Agency, task: ShutdownTask, actor) -> ShutdownTask:
    """APPROVED → EXECUTING when every gate (e.g. owner signatures) is open; opens the first tier."""
    with transaction.atomic():
        task = ShutdownTask.objects.select_for_update().get(pk=task.pk)
        check_task_transition(task.state, TaskState.EXECUTING)
        reasons = execution_blockers(agency=agency, task=task)
        if reasons:
            raise Conflict(_("Execution cannot start yet: %(reasons)s") % {"reasons": " ".join(reasons)},
                           code="gate_closed", details={"reasons": reasons})
        active = TaskItem.objects.filter(task=task).exclude(state__in=INACTIVE_ITEM_STATES)
        if active.filter(tier__isnull=True).exists():
            position = (Tier.objects.filter(task=task).order_by("-position").values_list("position", flat=True)
                        .first() or 0) + 1
            name = _("All accounts") if position == 1 else _("Remaining accounts")
            tier = Tier.objects.create(agency=agency, task=task, position=position, name=name)
            active.filter(tier__isnull=True).update(tier=tier)
        task = task_transition(agency=agency, task=task, to=TaskState.EXECUTING, actor=actor)
        first = Tier.objects.filter(task=task, state=Tier.State.PENDING).order_by("position").first()
        if first is not None:
            tier_start(agency=agency, tier=first, actor=actor)
    return task


def tier_start(*, agency: Agency, tier: Tier, actor) -> Tier:
    with transaction.atomic():
        task = ShutdownTask.objects.select_for_update().get(pk=tier.task_id)
        if task.state != TaskState.EXECUTING:
            raise Conflict(_("The task is “%(s)s”: tiers open only while it executes.")
                           % {"s": task.get_state_display()}, code="illegal_transition")
        tier = Tier.objects.select_for_update().select_related("task").get(pk=tier.pk)
        if tier.state != Tier.State.PENDING:
            raise Conflict(_("Tier “%(t)s” is already “%(s)s”.") % {"t": tier.name, "s": tier.get_state_display()},
                           code="illegal_transition")
        unfinished = (Tier.objects.filter(task=task, position__lt=tier.position)
                      .exclude(state__in=FINISHED_TIER_STATES).order_by("position").first())
        if unfinished is not None:
            raise Conflict(_("Tier “%(t)s” must be complete or closed first.") % {"t": unfinished.name},
                           code="previous_tier_open", details={"tier": unfinished.pk})
        # R9.1 preparation and R9.2 shell transition (shutdown.services.preparation), and any other
        # tier gate: the tier waits, with the accounts and what they wait for named.
        reasons = tier_blockers(agency=agency, tier=tier)
        if reasons:
            raise Conflict(_("Tier “%(t)s” cannot open yet: %(reasons)s") % {"t": tier.display_name,
                                                                            "reasons": " ".join(reasons)},
                           code="tier_gate_closed", details={"reasons": reasons})
        tier.state = Tier.State.OPEN
        tier.save(update_fields=["state"])
        items = TaskItem.objects.filter(tier=tier, state=ItemState.APPROVED)
        items_expected_from_submission(agency=agency, items=list(items.select_related("sub_account", "task")),
                                       submitted_at=timezone.now())
        subaccounts_status_set(agency=agency, actor=actor, subaccount_ids=list(items.values_list("sub_account_id", flat=True)),
                               status=SubAccountStatus.SHUTDOWN_PENDING)
        count = items.update(state=ItemState.EXECUTING)
        event_record(agency=agency, task=task, kind=EventKind.TIER_OPENED, actor=actor,
                     data={"tier": tier.pk, "name": tier.name, "items": count})
        task_state_roll_up(agency=agency, task=task, actor=actor)
    return tier


def _lock_executing_item(item: TaskItem) -> TaskItem:
    locked = (TaskItem.objects.select_for_update(of=("self",)).select_related("task", "tier", "sub_account")
              .get(pk=item.pk))
    if locked.task.state != TaskState.EXECUTING or not locked.tier or locked.tier.state != Tier.State.OPEN:
        raise Conflict(_("This item's tier is not open."), code="tier_not_open")
    return locked


def item_mark_done(*, agency: Agency, item: TaskItem, actor, receipt_number: str = "", screenshot=None,
                   effective_at=None) -> TaskItem:
    effective_at = effective_at or timezone.now()
    if timezone.is_naive(effective_at):
        raise DomainValidationError(_("The effective time needs a time zone."), details={"effective_at": ["naive"]})
    if effective_at > timezone.now():
        raise DomainValidationError(_("The effective time cannot be in the future."),
                                    details={"effective_at": ["future"]})
    with transaction.atomic():
        item = _lock_executing_item(item)
        document = None
        if screenshot is not None:
            document = document_upload(agency=agency, task=item.task, item=item, actor=actor, upload=screenshot,
                                       kind=DocumentKind.EXECUTION_SCREENSHOT, record=False)
        item_transition(agency=agency, item=item, to=ItemState.DONE, actor=actor, kind=EventKind.ITEM_DONE,
                        data={"receipt_number": receipt_number, "effective_at": effective_at.isoformat(),
                              "screenshot_sha256": document.sha256 if document else None})
        item.state = ItemState.DONE
        item.effective_at = effective_at
        item.receipt_number = (receipt_number or "")[:100]
        item.save(update_fields=["effective_at", "receipt_number", "updated_at"])
        subaccounts_status_set(agency=agency, actor=actor, subaccount_ids=[item.sub_account_id],
                               status=STATUS_AFTER[item.task.strategy])
        item_effective.send(sender=TaskItem, agency=agency, item=item, effective_at=effective_at)
        task_state_roll_up(agency=agency, task=item.task, actor=actor)
    return item


def item_mark_failed(*, agency: Agency, item: TaskItem, actor, reason: str) -> TaskItem:
    if not (reason or "").strip():
        raise DomainValidationError(_("Say why the item failed."), details={"reason": ["required"]})
    with transaction.atomic():
        item = _lock_executing_item(item)
        item_transition(agency=agency, item=item, to=ItemState.FAILED, actor=actor, kind=EventKind.ITEM_FAILED,
                        data={"reason": reason.strip()})
        item.state = ItemState.FAILED
        item.failure_reason = reason.strip()
        item.save(update_fields=["failure_reason", "updated_at"])
    return item


def item_retry(*, agency: Agency, item: TaskItem, actor) -> TaskItem:
    with transaction.atomic():
        item = _lock_executing_item(item)
        item_transition(agency=agency, item=item, to=ItemState.EXECUTING, actor=actor, kind=EventKind.ITEM_RETRIED)
        item.state = ItemState.EXECUTING
    return item


def tier_close(*, agency: Agency, tier: Tier, actor) -> Tier:
    """Close an open tier whose items are all done or failed; the failures are listed in the event."""
    with transaction.atomic():
        ShutdownTask.objects.select_for_update().get(pk=tier.task_id)
        tier = Tier.objects.select_for_update().get(pk=tier.pk)
        if tier.state != Tier.State.OPEN:
            raise Conflict(_("Tier “%(t)s” is “%(s)s”, not open.") % {"t": tier.name, "s": tier.get_state_display()},
                           code="illegal_transition")
        executing = TaskItem.objects.filter(tier=tier, state=ItemState.EXECUTING).count()
        if executing:
            raise Conflict(_("%(n)s item(s) of this tier are still executing: mark them done or failed first.")
                           % {"n": executing}, code="items_executing", details={"executing": executing})
        failures = list(TaskItem.objects.filter(tier=tier, state=ItemState.FAILED)
                        .values("pk", "sub_account_id", "failure_reason"))
        tier.state = Tier.State.CLOSED_WITH_FAILURES if failures else Tier.State.COMPLETE
        tier.save(update_fields=["state"])
        event_record(agency=agency, task=tier.task, kind=EventKind.TIER_CLOSED, actor=actor,
                     data={"tier": tier.pk, "state": tier.state, "failures": failures})
        task_state_roll_up(agency=agency, task=tier.task, actor=actor)
    return tier


def tier_run_connector(*, agency: Agency, tier: Tier, actor) -> dict:
    """Let the agency's PlatformConnector carry out every executing item of an open tier."""
    connector = connector_for(agency)
    if not connector.automatic:
        raise Conflict(_("This agency uses the manual connector: follow each item's checklist and mark it done."),
                       code="manual_connector")
    if tier.state != Tier.State.OPEN:
        raise Conflict(_("Tier “%(t)s” is not open.") % {"t": tier.name}, code="tier_not_open")
    counts = {"done": 0, "failed": 0}
    items = TaskItem.objects.filter(tier=tier, state=ItemState.EXECUTING).select_related("sub_account", "task")
    for item in items:
        result = connector.execute(item=item)
        if result.status == ConnectorResult.DONE:
            item_mark_done(agency=agency, item=item, actor=actor, receipt_number=result.receipt_number)
            counts["done"] += 1
        elif result.status == ConnectorResult.FAILED:
            item_mark_failed(agency=agency, item=item, actor=actor, reason=result.message)
            counts["failed"] += 1
    return counts
