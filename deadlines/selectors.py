"""Reads of deadlines, alerts and timelines: a constant number of queries per page."""

from datetime import date, datetime, time, timedelta

from django.db.models import Q
from django.utils import timezone

from deadlines.models import Alert, Deadline, MetricSample, ReopenRequest
from notifications.models import OutboundMessage

SORTS = {"due": ("due_at", "id"), "-due": ("-due_at", "-id"), "account": ("sub_account__display_name", "due_at"),
         "kind": ("kind", "due_at")}


def deadline_list(*, agency, kind: str = "", provisional: str = "", q: str = "", window: str = "upcoming",
                  sub_account_id=None, task_id=None, sort: str = "due"):
    qs = Deadline.objects.filter(agency=agency).select_related("sub_account", "task")
    now = timezone.now()
    if window == "upcoming":
        qs = qs.filter(due_at__gte=now)
    elif window == "past":
        qs = qs.filter(due_at__lt=now)
    if kind:
        qs = qs.filter(kind=kind)
    if provisional in ("1", "true", "yes"):
        qs = qs.filter(provisional=True)
    elif provisional in ("0", "false", "no"):
        qs = qs.filter(provisional=False)
    if q:
        qs = qs.filter(Q(sub_account__display_name__icontains=q) | Q(sub_account__platform_account_id__icontains=q))
    if sub_account_id:
        qs = qs.filter(sub_account_id=sub_account_id)
    if task_id:
        qs = qs.filter(task_id=task_id)
    return qs.order_by(*SORTS.get(sort, SORTS["due"]))


def calendar_weeks(*, agency, weeks: int, start: date | None = None) -> list[dict]:
    """Days of the next `weeks` weeks (from Monday), each with its deadlines, in the agency's zone."""
    from rulebook.workdays import is_working_day

    tz = agency.tz
    today = timezone.now().astimezone(tz).date()
    start = start or (today - timedelta(days=today.weekday()))
    end = start + timedelta(days=7 * weeks)
    begin = datetime.combine(start, time.min, tzinfo=tz)
    finish = datetime.combine(end, time.min, tzinfo=tz)
    by_day: dict[date, list] = {}
    for d in (Deadline.objects.filter(agency=agency, due_at__gte=begin, due_at__lt=finish)
              .select_related("sub_account").order_by("due_at", "id")):
        by_day.setdefault(d.due_at.astimezone(tz).date(), []).append(d)
    out, week = [], []
    for i in range(7 * weeks):
        day = start + timedelta(days=i)
        working, provisional = is_working_day(day)
        week.append({"date": day, "working": working, "provisional": provisional, "today": day == today,
                     "deadlines": by_day.get(day, [])})
        if len(week) == 7:
            out.append(week)
            week = []
    return out


def account_timeline(*, agency, sub_account) -> dict:
    deadlines = list(Deadline.objects.filter(sub_account=sub_account).select_related("task").order_by("due_at"))
    alerts = list(Alert.objects.filter(sub_account=sub_account).order_by("-raised_at")[:50])
    samples = list(MetricSample.objects.filter(sub_account=sub_account).order_by("-measured_at")[:50])
    refs = [f"deadline:{d.pk}" for d in deadlines] + [f"alert:{a.pk}" for a in alerts]
    messages = list(OutboundMessage.objects.filter(ref__in=refs).select_related("recipient_user")
                    .order_by("send_after")[:500]) if refs else []
    requests = list(ReopenRequest.objects.filter(sub_account=sub_account).select_related("requested_by")[:20])
    return {"deadlines": deadlines, "alerts": alerts, "samples": samples, "reminders": messages,
            "reopen_requests": requests}


def task_timeline(*, agency, task) -> list[dict]:
    """The task's deadlines by due date, each with its account."""
    return list(Deadline.objects.filter(task=task).select_related("sub_account").order_by("due_at", "id"))


def alert_list(*, agency, status: str = "", rule: str = "", q: str = "", sort: str = "-raised"):
    qs = Alert.objects.filter(agency=agency).select_related("sub_account", "handled_by")
    if status:
        qs = qs.filter(status=status)
    if rule:
        qs = qs.filter(rule=rule)
    if q:
        qs = qs.filter(sub_account__display_name__icontains=q)
    order = {"-raised": ("-raised_at", "-id"), "raised": ("raised_at", "id"),
             "account": ("sub_account__display_name", "-raised_at")}
    return qs.order_by(*order.get(sort, order["-raised"]))
