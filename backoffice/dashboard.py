"""Reads for the agency dashboard: a fixed number of queries whatever the agency's size."""

from collections import Counter
from datetime import timedelta

from django.db.models import Count
from django.utils import timezone

from agency.models import Platform, SubAccount, SubAccountStatus
from approvals.selectors import inbox_for_user
from deadlines.models import Alert, Deadline
from notifications.models import OutboundMessage
from shutdown.models import ShutdownTask
from shutdown.states import TaskState

UPCOMING_DAYS = 14


def _bars(rows: dict, choices) -> list[dict]:
    labels = dict(choices)
    peak = max(rows.values(), default=0) or 1
    return [
        {"key": key, "label": labels.get(key, key), "n": rows.get(key, 0), "pct": round(rows.get(key, 0) * 100 / peak)}
        for key in labels
    ]


def dashboard_data(*, agency, user) -> dict:
    now = timezone.now()
    accounts = SubAccount.objects.filter(archived_at__isnull=True)
    # One pass over the accounts for both breakdowns (at 100,000 accounts each pass is a scan).
    by_status, by_platform = Counter(), Counter()
    for status, platform, n in accounts.values_list("status", "platform").annotate(n=Count("*")).order_by():
        by_status[status] += n
        by_platform[platform] += n
    tasks_by_state = dict(ShutdownTask.objects.values_list("state").annotate(n=Count("id")).order_by())
    data = {
        "accounts_total": sum(by_status.values()),
        "accounts_by_status": _bars(by_status, SubAccountStatus.choices),
        "accounts_by_platform": _bars(by_platform, Platform.choices),
        "tasks_by_state": [b for b in _bars(tasks_by_state, TaskState.choices) if b["n"]],
        "tasks_active": sum(n for s, n in tasks_by_state.items()
                            if s not in (TaskState.DONE, TaskState.CANCELLED, TaskState.FAILED)),
        "upcoming_days": UPCOMING_DAYS,
    }
    data["my_approvals"] = [e for e in inbox_for_user(user) if e.agency.pk == agency.pk][:10]
    data["deadlines"] = list(
        Deadline.objects.filter(due_at__gte=now, due_at__lt=now + timedelta(days=UPCOMING_DAYS))
        .select_related("sub_account").order_by("due_at")[:15]
    )
    data["deadlines_count"] = Deadline.objects.filter(
        due_at__gte=now, due_at__lt=now + timedelta(days=UPCOMING_DAYS)).count()
    data["alerts"] = list(Alert.objects.filter(status=Alert.Status.OPEN).select_related("sub_account")
                          .order_by("-raised_at")[:10])
    data["failed_messages"] = list(OutboundMessage.objects.filter(status=OutboundMessage.Status.FAILED)
                                   .order_by("-send_after")[:10])
    data["failed_count"] = OutboundMessage.objects.filter(status=OutboundMessage.Status.FAILED).count()
    data["recent_tasks"] = list(ShutdownTask.objects.order_by("-updated_at")[:5])
    return data
