"""Approval SLAs: a level waiting past its SLA reminds its approvers, then escalates to the
agency owner. Idempotent: markers on the stage row plus outbox idempotency keys."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django_scopes import scope

from agency.models import Agency
from shutdown.events import event_record
from shutdown.models import EventKind

from ..conf import escalation_grace_hours
from ..models import ApprovalDecision, ApprovalStage
from .common import notify_users, owner_ids, task_url


def approval_sla_sweep(*, agency: Agency, now=None) -> dict:
    now = now or timezone.now()
    reminded = escalated = 0
    due = ApprovalStage.objects.filter(state=ApprovalStage.State.OPEN, due_at__lte=now).order_by("due_at")
    for stage_id in list(due.values_list("pk", flat=True)):
        with transaction.atomic():
            stage = (ApprovalStage.objects.select_for_update(skip_locked=True).select_related("task", "round")
                     .filter(pk=stage_id, state=ApprovalStage.State.OPEN).first())
            if stage is None:
                continue
            task = stage.task
            params = {"task": task.title, "level": stage.name, "agency": agency.name,
                      "link": task_url(agency=agency, task=task),
                      "due_at": timezone.localtime(stage.due_at, agency.tz).strftime("%Y-%m-%d %H:%M")}
            voted = set(ApprovalDecision.objects.filter(round=stage.round, superseded_at__isnull=True).values_list("vote_of_id", flat=True))
            waiting = [u for u in stage.approver_ids if u not in voted]
            if stage.reminded_at is None:
                stage.reminded_at = now
                stage.save(update_fields=["reminded_at"])
                notify_users(agency=agency, user_ids=waiting, kind="approval_sla_reminder",
                             template_code="approval_sla_reminder", key=f"approval_sla_reminder:{stage.pk}",
                             params=params, task=task)
                event_record(agency=agency, task=task, kind=EventKind.APPROVAL_SLA_REMINDER, actor_label="system",
                             data={"round": stage.round.number, "level": stage.position, "approvers": waiting})
                reminded += 1
            elif (stage.escalated_at is None
                  and now >= stage.due_at + timedelta(hours=escalation_grace_hours(stage.sla_hours))):
                owners = [u for u in owner_ids(agency=agency) if u != stage.round.submitted_by_id] or owner_ids(
                    agency=agency)
                stage.escalated_at, stage.escalated_to_ids = now, owners
                stage.save(update_fields=["escalated_at", "escalated_to_ids"])
                notify_users(agency=agency, user_ids=owners, kind="approval_escalated",
                             template_code="approval_escalated", key=f"approval_escalated:{stage.pk}",
                             params=params, task=task)
                event_record(agency=agency, task=task, kind=EventKind.APPROVAL_ESCALATED, actor_label="system",
                             data={"round": stage.round.number, "level": stage.position, "to": owners})
                escalated += 1
    return {"reminded": reminded, "escalated": escalated}


def approval_sla_sweep_all(*, now=None) -> dict:
    from .signatures import signatures_backfill

    totals = {"reminded": 0, "escalated": 0}
    for agency in Agency.objects.filter(is_active=True).order_by("pk"):
        with scope(agency=agency):
            result = approval_sla_sweep(agency=agency, now=now)
            signatures_backfill(agency=agency)
        for key in totals:
            totals[key] += result[key]
    return totals
