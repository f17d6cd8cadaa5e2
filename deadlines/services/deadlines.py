"""Writes of deadlines: creation when an item takes effect, provisional recomputation,
reminder scheduling, reopening requests (R9.3)."""

from datetime import datetime, timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from accounts.models import Membership
from agency.celery_base import task_publish
from agency.exceptions import Conflict
from agency.models import SubAccount
from deadlines.models import Deadline, DeadlineKind, ReminderRule, ReopenRequest
from deadlines.services.rules import reminder_rules_effective
from notifications.models import Channel, OutboundMessage
from notifications.services.delivery import send_time_for
from notifications.services.enqueue import messages_enqueue_bulk
from rulebook.consequences import consequences_preview
from rulebook.policy import OWNER_REMINDED_KINDS, REMINDER_EVENING_HOUR, REMINDER_LOCAL_HOUR, policy_for
from rulebook.workdays import calendar_pinned, calendar_version, working_days_deadline
from shutdown.events import event_record
from shutdown.models import EventKind

# Audit event kinds written by this module (plain strings, apart from shutdown's own kinds).

# Deadline kinds counted in working days, and the policy field that holds the count.
WORKING_DAY_KINDS = {DeadlineKind.EARNINGS_SETTLEMENT: "settlement_working_days"}
REMINDER_TEMPLATE = "deadline_reminder"


def _label_en(label) -> str:
    with translation.override("en"):
        return str(label)


def deadlines_create_for_item(*, agency, item, effective_at: datetime) -> list[Deadline]:
    """Store the deadlines of an item that took effect (idempotent per item and kind), and
    schedule their reminders. Dates come from consequences_preview, so preview and storage agree."""
    if timezone.is_naive(effective_at):
        raise ValueError("effective_at must be aware")
    with transaction.atomic():
        sub_account = SubAccount.objects.select_for_update().get(pk=item.sub_account_id)
        policy = policy_for(agency)
        consequences = consequences_preview(agency=agency, sub_account=sub_account, strategy=item.task.strategy,
                                            effective_at=effective_at, review_started_at=item.expected_from)
        existing = set(Deadline.objects.filter(item=item).values_list("kind", flat=True))
        version = calendar_version()
        new = []
        for c in consequences:
            if c.kind in existing:
                continue
            field = WORKING_DAY_KINDS.get(c.kind)
            new.append(Deadline(
                agency=agency, sub_account=sub_account, task_id=item.task_id, item=item, kind=c.kind, rule=c.rule,
                label=_label_en(c.label), note=_label_en(c.note) if c.note else "", effective_at=effective_at,
                due_at=c.due_at, provisional=c.provisional,
                working_days=getattr(policy, field) if field else None,
                calendar_version=version if field else "",
                data={"followers": sub_account.followers},
            ))
        Deadline.objects.bulk_create(new)
        if any(d.pk is None for d in new):  # backends that do not return ids from bulk inserts
            new = list(Deadline.objects.filter(item=item, kind__in=[d.kind for d in new]))
        for deadline in new:  # the task and account they share, read once (not once per deadline)
            deadline.task, deadline.sub_account = item.task, sub_account
        reminders_schedule(agency=agency, deadlines=new)
    return new


def _send_moment(due_at: datetime, days_before: int, tz) -> datetime:
    """The local morning `days_before` days before the due date; a same-day reminder of a
    deadline due at or before that hour goes out the evening before instead."""
    local_due = due_at.astimezone(tz)
    day = local_due.date() - timedelta(days=days_before)
    moment = datetime(day.year, day.month, day.day, REMINDER_LOCAL_HOUR, tzinfo=tz)
    if moment >= due_at:
        eve = day - timedelta(days=1)
        moment = datetime(eve.year, eve.month, eve.day, REMINDER_EVENING_HOUR, tzinfo=tz)
    return moment


def reminder_send_time(*, due_at: datetime, days_before: int, channel: str, tz, now: datetime) -> datetime | None:
    """When a reminder goes out: its planned moment, or — when that has passed while the deadline
    is still ahead — the next allowed moment (now; for SMS the end of quiet hours). None once the
    deadline has passed."""
    if due_at <= now:
        return None
    moment = max(_send_moment(due_at, days_before, tz), now)
    return send_time_for(channel=channel, moment=moment, tz=tz)


def _days_left(due_at: datetime, moment: datetime, tz) -> int:
    """What the message says ("in N days", "today"), counted between agency-local dates."""
    return max((due_at.astimezone(tz).date() - moment.astimezone(tz).date()).days, 0)


def _recipients_by_role(agency) -> dict[str, list]:
    by_role: dict[str, list] = {}
    for m in Membership.objects.filter(agency=agency, user__is_active=True).select_related("user"):
        by_role.setdefault(m.role, []).append(m.user)
    return by_role


def _reminder_params(deadline: Deadline, tz, days_before: int) -> dict:
    """`days_before` is the number of agency-local days between sending and the due date."""
    account = deadline.sub_account
    return {
        "account": account.display_name, "platform": account.get_platform_display(), "kind": deadline.kind,
        "label": deadline.label, "rule": deadline.rule, "days_before": days_before,
        "due_date": deadline.due_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
        "provisional": deadline.provisional,
        "path": reverse("deadlines:account_timeline", kwargs={"agency_slug": deadline.agency.slug,
                                                             "pk": account.pk}),
    }


def reminders_schedule(*, agency, deadlines: list[Deadline], now: datetime | None = None) -> int:
    """Store one row per (deadline, rule, channel, recipient). Nothing is skipped while the
    deadline is ahead: a reminder whose moment has passed goes out at the next allowed time —
    one catch-up reminder (the rule closest to the due date) rather than several at once."""
    if not deadlines:
        return 0
    now = now or timezone.now()
    tz = agency.tz
    rules = reminder_rules_effective(agency=agency)
    by_role = _recipients_by_role(agency)
    specs = []
    for deadline in deadlines:
        deadline.agency = agency
        if deadline.due_at <= now:
            continue
        kind_rules = rules_for_kind(rules, deadline.kind)
        passed = [r for r in kind_rules if _send_moment(deadline.due_at, r.days_before, tz) <= now]
        catch_up = min(passed, key=lambda r: r.days_before) if passed else None
        base = _reminder_params(deadline, tz, 0)  # what every reminder of this deadline shares
        for rule in kind_rules:
            if rule in passed and rule is not catch_up:
                continue
            users = {u.pk: u for role in rule.recipient_roles for u in by_role.get(role, [])}
            for channel in rule.channels:
                moment = reminder_send_time(due_at=deadline.due_at, days_before=rule.days_before, channel=channel,
                                            tz=tz, now=now)
                params = {**base, "days_before": _days_left(deadline.due_at, moment, tz),
                          "rule_days_before": rule.days_before}
                for user in users.values():
                    specs.append({
                        "channel": channel, "kind": "reminder", "template_code": REMINDER_TEMPLATE, "params": params,
                        "recipient_user": user, "language": user.language or "zh-hans", "send_after": moment,
                        "idempotency_key": f"rem:{deadline.pk}:{rule.pk}:{channel}:u{user.pk}",
                        "task": deadline.task, "ref": f"deadline:{deadline.pk}",
                    })
                if rule.notify_owner and deadline.kind in OWNER_REMINDED_KINDS and channel != Channel.INAPP:
                    account = deadline.sub_account
                    address = account.owner_email if channel == Channel.EMAIL else account.owner_mobile
                    if address:
                        specs.append({
                            "channel": channel, "kind": "reminder", "template_code": REMINDER_TEMPLATE,
                            "params": params, "recipient_address": address, "send_after": moment,
                            "idempotency_key": f"rem:{deadline.pk}:{rule.pk}:{channel}:owner",
                            "task": deadline.task, "ref": f"deadline:{deadline.pk}",
                        })
    return messages_enqueue_bulk(agency=agency, specs=specs)


def rules_for_kind(rules: list[ReminderRule], kind: str) -> list[ReminderRule]:
    """Rules written for this kind replace the general ones ("every kind")."""
    specific = [r for r in rules if r.deadline_kind == kind]
    return specific or [r for r in rules if not r.deadline_kind]


def deadlines_recompute_everywhere(*, change: dict | None = None) -> None:
    """Publish one recount per agency holding working-day deadlines counted on another calendar
    version (run at once when eager)."""
    version = calendar_version()
    with scopes_disabled():
        agency_ids = list(Deadline.objects.filter(working_days__isnull=False).exclude(calendar_version=version)
                          .values_list("agency_id", flat=True).distinct())
    for agency_id in agency_ids:
        task_publish("deadlines.tasks.deadlines_recompute", kwargs={"agency_id": agency_id, "change": change},
                     after_commit=False)


def deadlines_recompute(*, agency, change: dict | None = None, now: datetime | None = None) -> int:
    """Recount every working-day deadline counted on another calendar version; move its pending
    reminders with it (new send time, new date in the text), record the move on the deadline
    (its timeline shows from/to and why) and on its task's audit trail. Signed documents keep
    what was signed. Returns how many deadlines changed."""
    tz = agency.tz
    now = now or timezone.now()
    changed_by_task: dict[int, list[dict]] = {}
    changed = 0
    with transaction.atomic(), calendar_pinned():
        version = calendar_version()
        stale = list(Deadline.objects.select_for_update(of=("self",)).select_related("sub_account", "task")
                     .filter(agency=agency, working_days__isnull=False).exclude(calendar_version=version))
        for deadline in stale:
            due_at, provisional = working_days_deadline(start=deadline.effective_at, days=deadline.working_days, tz=tz)
            deadline.calendar_version = version
            if due_at == deadline.due_at and provisional == deadline.provisional:
                continue
            move = {"at": now.isoformat(), "from": deadline.due_at.isoformat(), "to": due_at.isoformat(),
                    "provisional": provisional, "change": change or {"reason": "recount"}}
            deadline.data = {**(deadline.data or {}), "changes": [*(deadline.data or {}).get("changes", []), move]}
            deadline.due_at, deadline.provisional = due_at, provisional
            deadline.sequence += 1  # the ICS event is replaced, not duplicated
            deadline.updated_at = now  # bulk_update leaves auto_now fields alone
            changed += 1
            _reminders_move(deadline=deadline, tz=tz, now=now)
            if deadline.task_id:
                changed_by_task.setdefault(deadline.task_id, []).append(
                    {"deadline": deadline.pk, "kind": deadline.kind, "account": deadline.sub_account.display_name,
                     "from": move["from"], "to": move["to"], "provisional": provisional})
        Deadline.objects.bulk_update(stale, ["due_at", "provisional", "calendar_version", "data", "sequence",
                                             "updated_at"],
                                     batch_size=500)
        tasks = {d.task_id: d.task for d in stale if d.task_id in changed_by_task}
        for task_id, moves in changed_by_task.items():
            event_record(agency=agency, task=tasks[task_id], kind=EventKind.DEADLINE_RECOMPUTED, actor_label="system",
                         data={"change": change or {"reason": "recount"}, "deadlines": moves})
    return changed


# The name the first version had (it only recounted provisional deadlines).
deadlines_recompute_provisional = deadlines_recompute


def _reminders_move(*, deadline: Deadline, tz, now: datetime) -> None:
    """Pending reminders of a deadline whose date moved: new send time, new date and mark in the text."""
    pending = list(OutboundMessage.objects.select_for_update().filter(
        agency=deadline.agency_id, ref=f"deadline:{deadline.pk}", status=OutboundMessage.Status.PENDING))
    for message in pending:
        rule_days = message.params.get("rule_days_before", message.params.get("days_before", 0))
        moment = reminder_send_time(due_at=deadline.due_at, days_before=rule_days, channel=message.channel, tz=tz,
                                    now=now)
        if moment is None:
            message.status = OutboundMessage.Status.CANCELLED
            continue
        message.send_after = moment
        message.params = {**message.params, "due_date": deadline.due_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                          "provisional": deadline.provisional, "days_before": _days_left(deadline.due_at, moment, tz),
                          "rule_days_before": rule_days}
    OutboundMessage.objects.bulk_update(pending, ["send_after", "params", "status"])


def reopen_possible_from(*, agency, sub_account) -> datetime | None:
    """When the account may be reopened (R9.3), or None when no shutdown blocks it."""
    latest = (Deadline.objects.filter(sub_account=sub_account, kind=DeadlineKind.REOPEN_BLOCKED)
              .order_by("-due_at").values_list("due_at", flat=True).first())
    return latest


def reopen_request_create(*, agency, sub_account, user, reason: str = "") -> ReopenRequest:
    """Record a reopening request, or refuse it (409) with the date it becomes possible."""
    with transaction.atomic():
        account = SubAccount.objects.select_for_update().get(pk=sub_account.pk)
        possible_from = reopen_possible_from(agency=agency, sub_account=account)
        now = timezone.now()
        if possible_from is not None and possible_from > now:
            local = possible_from.astimezone(agency.tz)
            raise Conflict(
                _("%(account)s cannot be reopened before %(date)s (R9.3: %(days)s days after the shutdown).") % {
                    "account": account.display_name, "date": local.strftime("%Y-%m-%d"),
                    "days": policy_for(agency).reopen_block_days},
                code="reopen_blocked",
                details={"possible_from": local.isoformat(), "possible_from_date": local.date().isoformat()},
            )
        return ReopenRequest.objects.create(agency=agency, sub_account=account, requested_by=user, requested_at=now,
                                            reason=reason[:300])
