"""What the agency's group robots hear of a task (notifications.robots): the audit trail is the
one place every approval, signature and execution step is written, so the robots listen to it.

Connected in ApprovalsConfig.ready() to TaskEvent's post_save: it runs inside the transaction
of the change, so a robot message is stored exactly when the event is (and never otherwise)."""

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from notifications.models import RobotEvent
from notifications.robots import robots_notify
from shutdown.models import EventKind, Tier

from .services.common import approval_url, task_url

ROBOT_EVENTS = {
    EventKind.APPROVAL_LEVEL_OPENED: RobotEvent.APPROVAL_WAITING,
    EventKind.APPROVAL_APPROVED: RobotEvent.APPROVAL_DECIDED,
    EventKind.APPROVAL_TASK_REJECTED: RobotEvent.APPROVAL_DECIDED,
    EventKind.SIGNATURES_TIER_READY: RobotEvent.SIGNATURES_COMPLETE,
    EventKind.TIER_COMPLETE: RobotEvent.TIER_EXECUTED,
}


def _local(value, tz) -> str:
    moment = parse_datetime(value) if isinstance(value, str) else value
    return timezone.localtime(moment, tz).strftime("%Y-%m-%d %H:%M") if moment else ""


def on_task_event(sender, instance, created, **kwargs):
    robot_event = ROBOT_EVENTS.get(instance.kind) if created else None
    if robot_event is None:
        return
    task, agency, data = instance.task, instance.agency, instance.data or {}
    by = "" if instance.actor_label == "system" else instance.actor_label
    params = {"task": task.title, "link": task_url(agency=agency, task=task)}
    if instance.kind == EventKind.APPROVAL_LEVEL_OPENED:
        params.update(
            level=data.get("name", ""),
            due_at=_local(data.get("due_at"), agency.tz),
            link=approval_url(agency=agency, task=task),
        )
    elif instance.kind == EventKind.APPROVAL_APPROVED:
        params.update(decision="approved", by=by, link=approval_url(agency=agency, task=task))
    elif instance.kind == EventKind.APPROVAL_TASK_REJECTED:
        params.update(
            decision="rejected",
            by=by,
            reason=data.get("reason", ""),
            link=approval_url(agency=agency, task=task),
        )
    else:
        tier = Tier.objects.filter(pk=data.get("tier")).first()
        params.update(tier=tier.display_name if tier else "", accounts=data.get("signed", ""))
    robots_notify(agency=agency, event=robot_event, key=f"task_event:{instance.pk}", params=params, task=task)
