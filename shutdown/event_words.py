"""An audit event's details in words: each stored key named (“内容摘要”, not `content_hash`),
each stored code shown by its label (“草稿 → 检查中”, not `from draft to checking`), dates in
the agency's time. The stored data (and its hash chain) never changes; only the page does."""

from datetime import datetime

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from shutdown.models import Blocker, DocumentKind, PreparationPhase, Strategy, Tier
from shutdown.states import ItemState, TaskState

# Keys that only point at rows the page shows elsewhere (the item column, the signature list).
HIDDEN_KEYS = {"sub_account", "signature", "document", "blocker", "appeal", "tier", "from_tier", "to_tier"}

KEY_LABELS = {
    "title": gettext_lazy("Title"), "strategy": gettext_lazy("Strategy"), "items": gettext_lazy("Accounts"),
    "count": gettext_lazy("Number"), "links": gettext_lazy("Signing links"), "reason": gettext_lazy("Reason"),
    "comment": gettext_lazy("Comment"), "round": gettext_lazy("Approval round"), "level": gettext_lazy("Level"),
    "name": gettext_lazy("Name"), "approvers": gettext_lazy("Waiting for"), "policy": gettext_lazy("Approval policy"),
    "content_hash": gettext_lazy("Content fingerprint"), "content_sha256": gettext_lazy("Content fingerprint"),
    "sha256": gettext_lazy("File fingerprint"), "size": gettext_lazy("File size"), "kind": gettext_lazy("Kind"),
    "code": gettext_lazy("Blocked because"), "rule": gettext_lazy("Rule"), "channel": gettext_lazy("Channel"),
    "fields": gettext_lazy("Changed"), "before": gettext_lazy("Before"), "followers": gettext_lazy("Followers"),
    "receipt_number": gettext_lazy("Receipt number"), "effective_at": gettext_lazy("Took effect"),
    "due_at": gettext_lazy("Due"), "planned_start": gettext_lazy("Planned start"),
    "signed_at": gettext_lazy("Signed"), "declined_at": gettext_lazy("Declined"), "signer": gettext_lazy("Signer"),
    "identity_check": gettext_lazy("Identity check"), "sent_to": gettext_lazy("Code sent to"),
    "ip": gettext_lazy("IP address"), "user_agent": gettext_lazy("Browser"), "language": gettext_lazy("Language"),
    "link_version": gettext_lazy("Link version"), "version": gettext_lazy("Link version"),
    "attempt": gettext_lazy("Attempt"), "levels_carried_over": gettext_lazy("Levels carried over"),
    "tiers": gettext_lazy("Tiers"), "failures": gettext_lazy("Failures"), "blocked": gettext_lazy("Blocked"),
    "state": gettext_lazy("State"), "submitted_at": gettext_lazy("Submitted"), "by": gettext_lazy("By"),
    "levels": gettext_lazy("Levels"), "to": gettext_lazy("New state"), "from": gettext_lazy("Previous state"),
    "checked": gettext_lazy("Checked"), "cleared": gettext_lazy("Cleared"), "new_blockers": gettext_lazy("New blockers"),
    "ready": gettext_lazy("Ready"), "escalated_to": gettext_lazy("Escalated to"),
    "document_sha256": gettext_lazy("File fingerprint"), "topic_transfer_target": gettext_lazy("Topics handed over to"),
    "account": gettext_lazy("Account"), "logged_in_at": gettext_lazy("Logged in"),
    "next_due_at": gettext_lazy("Next login due"), "note": gettext_lazy("Note"),
    # preparation and transition (R9.1, R9.2, R1.3, R9.4)
    "phase": gettext_lazy("Preparation phase"), "accounts": gettext_lazy("Account names"),
    "until": gettext_lazy("Empty shell until"), "months": gettext_lazy("Months"),
    "recommended": gettext_lazy("Recommended"), "chosen": gettext_lazy("Chosen"),
    "resolved": gettext_lazy("Blockers resolved"),
    "users": gettext_lazy("Members"), "where": gettext_lazy("Where"), "to_level": gettext_lazy("Back to level"),
    "attachments": gettext_lazy("Attachments"), "on_behalf_of": gettext_lazy("On behalf of"),
    "escalated": gettext_lazy("Escalated"),
    "bulk": gettext_lazy("In one action for many accounts"),
    "file": gettext_lazy("File"),
}
WHERE_WORDS = {"before": gettext_lazy("Before me"), "after": gettext_lazy("After me")}
IDENTITY_CHECKS = {"sms_code": gettext_lazy("Code by SMS"), "email_code": gettext_lazy("Code by email"),
                   "link": gettext_lazy("Signing link")}
REASONS = {"strategy changed": gettext_lazy("The strategy changed")}
RULE_WORDS = {"manual": gettext_lazy("By hand")}
DATE_KEYS = {"due_at", "effective_at", "planned_start", "signed_at", "declined_at", "submitted_at", "logged_in_at",
             "next_due_at", "until"}
HASH_KEYS = {"content_hash", "content_sha256", "sha256", "document_sha256"}


def _state_label(value) -> str:
    for choices in (ItemState, TaskState, Tier.State, Blocker.State):
        if value in choices.values:
            return str(choices(value).label)
    return str(value)


def _when(value, tz) -> str:
    moment = parse_datetime(value) if isinstance(value, str) else value
    if isinstance(moment, datetime):
        if timezone.is_aware(moment):
            moment = timezone.localtime(moment, tz)
        return moment.strftime("%Y-%m-%d %H:%M")
    return str(value)


def _plain(value) -> str:
    if value is True:
        return _("yes")
    if value is False:
        return _("no")
    if value in (None, "", [], {}):
        return "—"
    if isinstance(value, list | tuple):
        return pgettext("list separator", ", ").join(_plain(v) for v in value)
    return str(value)


def _value(key: str, value, *, tz, users: dict) -> str:
    from shutdown import rules

    if key in DATE_KEYS:
        return _when(value, tz)
    if key in HASH_KEYS:
        return f"{str(value)[:12]}…" if value else "—"
    if key in ("strategy", "recommended", "chosen"):
        return str(Strategy(value).label) if value in Strategy.values else _plain(value)
    if key == "phase":
        return str(PreparationPhase(value).label) if value in PreparationPhase.values else _plain(value)
    if key == "kind":
        return str(DocumentKind(value).label) if value in DocumentKind.values else _plain(value)
    if key == "code":
        return rules.blocker_reason(value)
    if key in ("state", "from", "to") and not isinstance(value, list | dict):
        return _state_label(value)
    if key == "rule":
        if value in rules.SPLIT_RULES:
            return str(rules.SPLIT_RULES[value])
        return str(RULE_WORDS.get(value, value))
    if key == "identity_check":
        return str(IDENTITY_CHECKS.get(value, value))
    if key == "channel":
        from notifications.models import Channel

        return str(Channel(value).label) if value in Channel.values else _(str(value)) if value else "—"
    if key == "language":
        return str(dict(settings.LANGUAGES).get(value, value))
    if key == "reason":
        return str(REASONS.get(value)) if value in REASONS else (_(value) if isinstance(value, str) and value else "—")
    if key == "size" and isinstance(value, int):
        from django.template.defaultfilters import filesizeformat

        return str(filesizeformat(value))
    if key == "fields" and isinstance(value, list):
        from shutdown.models import ShutdownTask

        names = {f.name: str(f.verbose_name) for f in ShutdownTask._meta.fields}
        return pgettext("list separator", ", ").join(names.get(v, str(v).replace("_", " ")) for v in value)
    if key == "before" and isinstance(value, dict):
        return "; ".join(f"{KEY_LABELS.get(k, str(k).replace('_', ' '))}: {_value(k, v, tz=tz, users=users)}"
                         for k, v in value.items())
    if key == "tiers" and isinstance(value, list):
        return pgettext("list separator", ", ").join(
            _("%(name)s (%(n)s)") % {"name": rules.tier_display_name(str(row[0])), "n": row[1]}
            if isinstance(row, list | tuple) and len(row) == 2 else _plain(row) for row in value)
    if key == "where":
        return str(WHERE_WORDS.get(value, value))
    if key == "on_behalf_of" and value:
        return users.get(value, str(value))
    if key in ("approvers", "to", "escalated_to", "users") and isinstance(value, list):
        return pgettext("list separator", ", ").join(users.get(v, str(v)) for v in value)
    return _plain(value)


def actor_words(label: str) -> str:
    """Who acted: “system” (stored as is in the chain) in the viewer's language."""
    return _("system") if label == "system" else label


def event_data_rows(event) -> list[tuple[str, str]]:
    """[(label, value)] of an event's data, in words, for the audit pages."""
    data = dict(event.data or {})
    tz = getattr(getattr(event, "agency", None), "tz", None) or timezone.get_current_timezone()
    user_ids = [v for key in ("approvers", "to", "users") if isinstance(data.get(key), list) for v in data[key]]
    if isinstance(data.get("on_behalf_of"), int):
        user_ids.append(data["on_behalf_of"])
    users = {}
    if user_ids:
        from accounts.models import User

        users = {u.pk: u.get_full_name() or u.email for u in User.objects.filter(pk__in=user_ids)}
    rows = []
    if "from" in data and "to" in data and not isinstance(data["to"], list):
        rows.append((_("State"), f"{_state_label(data.pop('from'))} → {_state_label(data.pop('to'))}"))
    for key, value in data.items():
        if key in HIDDEN_KEYS:
            continue
        label = str(KEY_LABELS.get(key, key.replace("_", " ")))
        rows.append((label, _value(key, value, tz=tz, users=users)))
    return rows



# The audit page filters events by their group (the part before the dot).
EVENT_GROUPS = {
    "task": gettext_lazy("Task"), "item": gettext_lazy("Accounts in the task"),
    "items": gettext_lazy("Accounts in the task"), "tier": gettext_lazy("Tiers"), "tiers": gettext_lazy("Tiers"),
    "approval": gettext_lazy("Approvals"), "signature": gettext_lazy("Account holder signatures"),
    "signatures": gettext_lazy("Account holder signatures"),
    "blocker": gettext_lazy("Blockers"), "document": gettext_lazy("Documents"),
    "precheck": gettext_lazy("Pre-checks"),
    "preparation": gettext_lazy("Preparation (R9.1)"), "shell": gettext_lazy("Shell transition (R9.2)"),
    "unbinding": gettext_lazy("Third-party unbinding (R1.3)"), "recommendation": gettext_lazy("Recommendation (R9.4)"),
    "receipts": gettext_lazy("Platform receipts"),
}


def event_group_label(group: str) -> str:
    return str(EVENT_GROUPS.get(group, group.replace("_", " ")))
