"""What the agency's group robots hear from the deadlines app (notifications.robots): an alert
raised by monitoring (R8), and a deadline falling due within a day."""

from datetime import timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from agency.models import Agency
from notifications.models import RobotEvent, RobotWebhook
from notifications.robots import robots_notify

from .models import Deadline


def on_alert_saved(sender, instance, created, **kwargs):
    """post_save of Alert (inside the transaction that raises it)."""
    if not created:
        return
    robots_notify(
        agency=instance.agency,
        event=RobotEvent.ALERT_RAISED,
        key=f"alert:{instance.pk}",
        params={
            "alert": instance.get_rule_display(),
            "account": str(instance.sub_account.display_name),
            "link": reverse("deadlines:alert_list", kwargs={"agency_slug": instance.agency.slug}),
        },
    )


def deadlines_due_soon_to_robots(*, now=None) -> int:
    """Beat: each open deadline due within the next day is told once to the robots that chose it
    (the key holds the due date, so a deadline moved later is told again for its new date)."""
    now = now or timezone.now()
    with scopes_disabled():
        agency_ids = sorted(
            {
                w.agency_id
                for w in RobotWebhook.objects.filter(is_active=True)
                if RobotEvent.DEADLINE_1D in (w.events or [])
            }
        )
        agencies = list(Agency.objects.filter(pk__in=agency_ids, is_active=True))
    created = 0
    for agency in agencies:
        with scope(agency=agency), transaction.atomic():
            due = (
                Deadline.objects.filter(
                    agency=agency,
                    completed_at__isnull=True,
                    due_at__gt=now,
                    due_at__lte=now + timedelta(days=1),
                )
                .select_related("sub_account", "task")
                .order_by("due_at")
            )
            for deadline in due:
                created += robots_notify(
                    agency=agency,
                    event=RobotEvent.DEADLINE_1D,
                    key=f"deadline_1d:{deadline.pk}:{deadline.due_at:%Y%m%d%H%M}",
                    task=deadline.task,
                    params={
                        "deadline": deadline.label,
                        "account": deadline.sub_account.display_name,
                        "due_at": timezone.localtime(deadline.due_at, agency.tz).strftime("%Y-%m-%d %H:%M"),
                        "link": reverse("deadlines:deadline_list", kwargs={"agency_slug": agency.slug}),
                    },
                )
    return created
