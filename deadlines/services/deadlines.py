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
from notifications.services.enqueue import messages_enqueue_bulk
from rulebook.consequences import consequences_preview
from rulebook.policy import OWNER_REMINDED_KINDS, REMINDER_LOCAL_HOUR, policy_for
from rulebook.workdays import working_days_deadline

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
                                            effective_at=effective_at)
        existing = set(Deadline.objects.filter(item=item).values_list("kind", flat=True))
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
                data={"followers": sub_account.followers},
            ))
        Deadline.objects.bulk_create(new)
        if any(d.pk is None for d in new):  # backends that do not return ids from bulk inserts
            new = list(Deadline.objects.filter(item=item, kind__in=[d.kind for d in new]))
        reminders_schedule(agency=agency, deadlines=new)
    return new


def _send_moment(deadline: Deadline, days_before: int, tz) -> datetime:
    local_due = deadline.due_at.astimezone(tz)
    day = local_due.date() - timedelta(days=days_before)
    return datetime(day.year, day.month, day.day, REMINDER_LOCAL_HOUR, tzinfo=tz)


def _recipients_by_role(agency) -> dict[str, list]:
    by_role: dict[str, list] = {}
    for m in Membership.objects.filter(agency=agency, user__is_active=True).select_related("user"):
        by_role.setdefault(m.role, []).append(m.user)
    return by_role


def _reminder_params(deadline: Deadline, tz, days_before: int) -> dict:
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
    """Store one row per (deadline, rule, channel, recipient) whose send time is still ahead."""
    if not deadlines:
        return 0
    now = now or timezone.now()
    tz = agency.tz
    rules = reminder_rules_effective(agency=agency)
    by_role = _recipients_by_role(agency)
    specs = []
    for deadline in deadlines:
        deadline.agency = agency
        for rule in rules_for_kind(rules, deadline.kind):
            moment = _send_moment(deadline, rule.days_before, tz)
            if moment <= now or moment > deadline.due_at:
                continue
            params = _reminder_params(deadline, tz, rule.days_before)
            users = {u.pk: u for role in rule.recipient_roles for u in by_role.get(role, [])}
            for channel in rule.channels:
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


def deadlines_recompute_everywhere() -> None:
    """Publish one recount per agency that holds provisional deadlines (run at once when eager)."""
    with scopes_disabled():
        agency_ids = list(Deadline.objects.filter(provisional=True).values_list("agency_id", flat=True).distinct())
    for agency_id in agency_ids:
        task_publish("deadlines.tasks.deadlines_recompute", kwargs={"agency_id": agency_id}, after_commit=False)


def deadlines_recompute_provisional(*, agency) -> int:
    """Recount provisional working-day deadlines on the current calendar; move their pending
    reminders with them. Returns how many deadlines changed."""
    tz = agency.tz
    changed = 0
    with transaction.atomic():
        for deadline in (Deadline.objects.select_for_update().select_related("sub_account")
                         .filter(provisional=True, working_days__isnull=False)):
            due_at, provisional = working_days_deadline(start=deadline.effective_at, days=deadline.working_days, tz=tz)
            if due_at == deadline.due_at and provisional == deadline.provisional:
                continue
            delta = due_at - deadline.due_at
            deadline.due_at, deadline.provisional = due_at, provisional
            deadline.save(update_fields=["due_at", "provisional", "updated_at"])
            changed += 1
            pending = list(OutboundMessage.objects.select_for_update().filter(
                ref=f"deadline:{deadline.pk}", status=OutboundMessage.Status.PENDING))
            for message in pending:
                message.send_after += delta
                message.params = {**message.params, "due_date": due_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                                  "provisional": provisional}
            OutboundMessage.objects.bulk_update(pending, ["send_after", "params"])
    return changed


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
