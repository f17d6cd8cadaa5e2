"""Monitoring after the shutdown (R8): metrics in (API or CSV), rules out (alerts that notify)."""

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from accounts.models import Membership
from agency.exceptions import Conflict, DomainValidationError
from agency.importers.reader import read_table
from agency.models import SubAccount
from deadlines.models import Alert, AlertRule, Deadline, DeadlineKind, Metric, MetricSample
from notifications.models import Channel
from notifications.services.enqueue import messages_enqueue_bulk
from rulebook.policy import ALERT_RECIPIENT_ROLES, DEFAULT_REMINDER_CHANNELS, policy_for

MAX_ROWS = 20000
# Samples may be this far in the future (the sender's clock).
METRIC_CLOCK_SKEW = timedelta(minutes=10)
ALERT_TEMPLATE = "monitoring_alert"


def _parse_moment(raw, tz) -> datetime | None:
    if isinstance(raw, datetime):
        moment = raw
    else:
        moment = parse_datetime(str(raw or "").strip())
        if moment is None:
            return None
    return timezone.make_aware(moment, tz) if timezone.is_naive(moment) else moment


def metrics_ingest(*, agency, rows: list[dict], source: str = "api", user=None) -> dict:
    """Validate every row first (errors name the row and the field; nothing is stored when one
    is wrong), store the samples, evaluate the R8 rules of the accounts concerned."""
    if not rows:
        raise DomainValidationError(_("No metric rows were sent."))
    if len(rows) > MAX_ROWS:
        raise DomainValidationError(_("At most %(n)s rows per upload.") % {"n": MAX_ROWS})
    tz = agency.tz
    ids, keys = set(), set()
    for row in rows:
        raw_id = str(row.get("sub_account") or row.get("sub_account_id") or "").strip()
        if raw_id.isdigit():
            ids.add(int(raw_id))
        elif row.get("platform") and row.get("platform_account_id"):
            keys.add((str(row["platform"]).strip(), str(row["platform_account_id"]).strip()))
    by_id = {a.pk: a for a in SubAccount.objects.filter(pk__in=ids)} if ids else {}
    by_key = {}
    if keys:
        platforms = {p for p, _ in keys}
        for a in SubAccount.objects.filter(platform__in=platforms,
                                           platform_account_id__in=[k for _, k in keys]):
            by_key[(a.platform, a.platform_account_id)] = a
    errors, samples = [], []
    now = timezone.now()
    for number, row in enumerate(rows, start=1):
        raw_id = str(row.get("sub_account") or row.get("sub_account_id") or "").strip()
        account = None
        if raw_id:
            account = by_id.get(int(raw_id)) if raw_id.isdigit() else None
            if account is None:
                errors.append({"row": number, "field": "sub_account",
                               "message": _("No sub-account with id “%(v)s” in this agency.") % {"v": raw_id}})
        elif row.get("platform") and row.get("platform_account_id"):
            key = (str(row["platform"]).strip(), str(row["platform_account_id"]).strip())
            account = by_key.get(key)
            if account is None:
                errors.append({"row": number, "field": "platform_account_id",
                               "message": _("No %(p)s account “%(v)s” in this agency.") % {"p": key[0], "v": key[1]}})
        else:
            errors.append({"row": number, "field": "sub_account",
                           "message": _("Give sub_account (id) or platform and platform_account_id.")})
        metric = str(row.get("metric") or "").strip()
        if metric not in Metric.values:
            errors.append({"row": number, "field": "metric",
                           "message": _("“%(v)s” is not a metric; use one of %(choices)s.") % {
                               "v": metric, "choices": ", ".join(Metric.values)}})
        try:
            value = int(str(row.get("value", "")).strip())
            if value < 0:
                raise ValueError
        except ValueError:
            value = None
            errors.append({"row": number, "field": "value",
                           "message": _("“%(v)s” is not a whole number ≥ 0.") % {"v": row.get("value", "")}})
        measured_at = _parse_moment(row.get("measured_at"), tz)
        if measured_at is None:
            errors.append({"row": number, "field": "measured_at",
                           "message": _("“%(v)s” is not a date and time (ISO 8601, e.g. 2026-03-01T09:30).")
                           % {"v": row.get("measured_at", "")}})
        elif measured_at > now + METRIC_CLOCK_SKEW:
            errors.append({"row": number, "field": "measured_at", "message": _("The time is in the future.")})
        if account is not None and metric in Metric.values and value is not None and measured_at is not None:
            samples.append(MetricSample(agency=agency, sub_account=account, metric=metric, value=value,
                                        measured_at=measured_at, source=source, created_by=user))
    if errors:
        raise DomainValidationError(
            _("%(n)s row(s) have errors; nothing was stored. First: row %(row)s, %(field)s: %(message)s") % {
                "n": len({e["row"] for e in errors}), **errors[0]},
            details={"rows": errors[:200]},
        )
    with transaction.atomic():
        MetricSample.objects.bulk_create(samples, batch_size=1000)
        alerts = alerts_evaluate(agency=agency, sub_account_ids={s.sub_account_id for s in samples})
    return {"stored": len(samples), "alerts": [a.pk for a in alerts]}


def metrics_parse_csv(*, data: bytes) -> list[dict]:
    """The rows of a metrics CSV (or XLSX) as dicts, streamed through the bounded spreadsheet reader
    (size, rows, columns, unpacked size, time: agency.importers.reader); at most MAX_ROWS kept."""
    rows = read_table(data).rows  # FileRejected (a 400 naming the limit) at the first limit passed
    header = next(((n, cells) for n, cells in rows if any(str(c or "").strip() for c in cells)), None)
    fields = [str(c or "").strip().lstrip("\ufeff") for c in header[1]] if header else []
    _check_metric_columns(set(fields))
    out = []
    for _number, cells in rows:
        if not any(str(c or "").strip() for c in cells):
            continue
        if len(out) >= MAX_ROWS:
            raise DomainValidationError(_("At most %(n)s rows per upload.") % {"n": MAX_ROWS})
        out.append({name: _metric_cell(cells[i] if i < len(cells) else "") for i, name in enumerate(fields) if name})
    return out


def _check_metric_columns(fields: set) -> None:
    if not {"metric", "value", "measured_at"} <= fields or not (
            "sub_account_id" in fields or "sub_account" in fields or {"platform", "platform_account_id"} <= fields):
        raise DomainValidationError(_(
            "The CSV needs the columns metric, value, measured_at and either sub_account_id or "
            "platform + platform_account_id."))


def _metric_cell(value):
    """A cell as the metric rows take it: text, or a date and time as it is (from an XLSX)."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value if value is not None else "").strip()


WINDOW_KIND = {
    AlertRule.FOLLOWER_DROP: DeadlineKind.MONITOR_ACTIVITY,
    AlertRule.UNAUTHORISED_API: DeadlineKind.MONITOR_API,
    AlertRule.PENDING_ORDERS: DeadlineKind.MONITOR_COMMERCIAL,
}
METRIC_OF = {
    AlertRule.FOLLOWER_DROP: Metric.FOLLOWERS,
    AlertRule.UNAUTHORISED_API: Metric.UNAUTHORISED_API_CALLS,
    AlertRule.PENDING_ORDERS: Metric.PENDING_ORDERS,
}


def alerts_evaluate(*, agency, sub_account_ids: set[int]) -> list[Alert]:
    """Apply the R8 rules inside each account's monitoring windows (from its shutdown deadlines)."""
    p = policy_for(agency)
    windows = {}
    for d in (Deadline.objects.filter(sub_account_id__in=sub_account_ids, kind__in=WINDOW_KIND.values())
              .order_by("due_at")):
        windows[(d.sub_account_id, d.kind)] = d  # the latest shutdown wins
    if not windows:
        return []
    samples: dict[tuple, list] = {}
    for s in (MetricSample.objects.filter(sub_account_id__in={k[0] for k in windows})
              .order_by("measured_at", "id")):
        samples.setdefault((s.sub_account_id, s.metric), []).append(s)
    raised = []
    for (account_id, kind), window in windows.items():
        rule = next(r for r, k in WINDOW_KIND.items() if k == kind)
        inside = [s for s in samples.get((account_id, METRIC_OF[rule]), [])
                  if window.effective_at <= s.measured_at <= window.due_at]
        if not inside:
            continue
        data = None
        if rule == AlertRule.FOLLOWER_DROP:
            # Every sample of the window is compared with the baseline: a drop that recovers
            # later in the same window (or the same upload) has still happened.
            baseline = window.data.get("followers") or inside[0].value
            if baseline > 0:
                lowest = min(inside, key=lambda sample: (sample.value, sample.measured_at))
                drop = (baseline - lowest.value) * 100 / baseline
                if drop >= p.activity_follower_drop_pct:
                    data = {"baseline": baseline, "lowest": lowest.value, "lowest_at": lowest.measured_at.isoformat(),
                            "latest": inside[-1].value, "drop_pct": round(float(drop), 1),
                            "threshold_pct": str(p.activity_follower_drop_pct)}
        elif rule == AlertRule.UNAUTHORISED_API:
            calls = sum(s.value for s in inside)
            if calls > 0:
                data = {"calls": calls, "first_at": next(s for s in inside if s.value > 0).measured_at.isoformat()}
        elif rule == AlertRule.PENDING_ORDERS:
            highest = max(inside, key=lambda sample: (sample.value, sample.measured_at))
            if highest.value > p.commercial_max_pending_orders:
                data = {"pending_orders": highest.value, "measured_at": highest.measured_at.isoformat(),
                        "latest": inside[-1].value, "threshold": p.commercial_max_pending_orders}
        if data is not None:
            alert = alert_raise(agency=agency, sub_account_id=account_id, rule=rule, data=data)
            if alert is not None:
                raised.append(alert)
    return raised


def alert_raise(*, agency, sub_account_id: int, rule: str, data: dict) -> Alert | None:
    """Open an alert unless one is already open for the account and rule; notify like reminders."""
    with transaction.atomic():
        if Alert.objects.filter(sub_account_id=sub_account_id, rule=rule).exclude(status=Alert.Status.RESOLVED).exists():
            return None
        try:
            with transaction.atomic():
                alert = Alert.objects.create(agency=agency, sub_account_id=sub_account_id, rule=rule, data=data,
                                             raised_at=timezone.now())
        except IntegrityError:
            return None
        _alert_notify(agency=agency, alert=alert)
    return alert


def _alert_notify(*, agency, alert: Alert) -> int:
    roles = ALERT_RECIPIENT_ROLES[alert.rule]
    account = SubAccount.objects.get(pk=alert.sub_account_id)
    from django.urls import reverse

    with translation.override("en"):  # the label's source text: an SMS says it in the agency's language
        rule_label = str(AlertRule(alert.rule).label)
    params = {"account": account.display_name, "platform": account.get_platform_display(), "rule": alert.rule,
              "rule_label": rule_label, "data": alert.data,
              "path": reverse("deadlines:account_timeline", kwargs={"agency_slug": agency.slug, "pk": account.pk})}
    specs = []
    for m in Membership.objects.filter(agency=agency, role__in=roles, user__is_active=True).select_related("user"):
        for channel in DEFAULT_REMINDER_CHANNELS:
            if channel == Channel.SMS and not m.user.mobile:
                continue
            specs.append({"channel": channel, "kind": "alert", "template_code": ALERT_TEMPLATE, "params": params,
                          "recipient_user": m.user, "language": m.user.language or "zh-hans",
                          "idempotency_key": f"alert:{alert.pk}:{channel}:u{m.user_id}", "ref": f"alert:{alert.pk}"})
    return messages_enqueue_bulk(agency=agency, specs=specs)


def alert_update(*, agency, alert: Alert, status: str, user) -> Alert:
    allowed = {Alert.Status.OPEN: {Alert.Status.ACKNOWLEDGED, Alert.Status.RESOLVED},
               Alert.Status.ACKNOWLEDGED: {Alert.Status.RESOLVED}}
    with transaction.atomic():
        locked = Alert.objects.select_for_update().get(pk=alert.pk)
        if status not in allowed.get(locked.status, set()):
            raise Conflict(_("An alert that is %(from)s cannot become %(to)s.") % {
                "from": locked.get_status_display(), "to": dict(Alert.Status.choices).get(status, status)})
        locked.status, locked.handled_by, locked.handled_at = status, user, timezone.now()
        locked.save(update_fields=["status", "handled_by", "handled_at"])
    return locked
