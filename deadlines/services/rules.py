"""Reminder rules per agency and the agency's policy overrides."""

from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.roles import Role
from agency.exceptions import DomainValidationError
from agency.models import Agency
from deadlines.models import DeadlineKind, ReminderRule
from notifications.models import PERSON_CHANNELS
from rulebook.policy import (
    DEFAULT_REMINDER_CHANNELS,
    DEFAULT_REMINDER_DAYS_BEFORE,
    DEFAULT_REMINDER_ROLES,
    DEFAULTS,
    Policy,
)


def reminder_rules_effective(*, agency) -> list[ReminderRule]:
    """The agency's active rules; the defaults (7 days, 1 day, the morning of) are stored on first use."""
    rules = list(ReminderRule.objects.filter(agency=agency))
    if not rules:
        with transaction.atomic():
            for days in DEFAULT_REMINDER_DAYS_BEFORE:
                ReminderRule.objects.get_or_create(
                    agency=agency, deadline_kind="", days_before=days,
                    defaults={"channels": list(DEFAULT_REMINDER_CHANNELS),
                              "recipient_roles": list(DEFAULT_REMINDER_ROLES), "notify_owner": True},
                )
        rules = list(ReminderRule.objects.filter(agency=agency))
    return [r for r in rules if r.is_active]


def _clean_rule(*, deadline_kind, days_before, channels, recipient_roles) -> dict:
    errors = {}
    if deadline_kind and deadline_kind not in DeadlineKind.values:
        errors["deadline_kind"] = _("Unknown deadline kind “%(v)s”.") % {"v": deadline_kind}
    try:
        days_before = int(days_before)
        if not 0 <= days_before <= 365:
            raise ValueError
    except (TypeError, ValueError):
        errors["days_before"] = _("Days before must be a whole number from 0 to 365.")
    if not isinstance(channels, list | tuple) or not all(isinstance(c, str) for c in channels):
        channels = None
    if not channels or any(c not in PERSON_CHANNELS for c in channels):
        errors["channels"] = _("Choose at least one of email, SMS, in-app.")
    if not isinstance(recipient_roles, list | tuple) or not all(isinstance(r, str) for r in recipient_roles):
        errors["recipient_roles"] = _("Give the roles to remind as a list.")
        recipient_roles = []
    bad_roles = [r for r in recipient_roles if r not in Role.values]
    if bad_roles:
        errors["recipient_roles"] = _("Unknown roles: %(v)s.") % {"v": ", ".join(bad_roles)}
    if errors:
        raise DomainValidationError(_("The reminder rule has invalid fields."), details=errors)
    return {"deadline_kind": deadline_kind or "", "days_before": days_before, "channels": list(dict.fromkeys(channels)),
            "recipient_roles": list(dict.fromkeys(recipient_roles))}


def reminder_rule_save(*, agency, rule: ReminderRule | None = None, deadline_kind: str = "", days_before,
                       channels: list[str], recipient_roles: list[str], notify_owner: bool = False,
                       is_active: bool = True) -> ReminderRule:
    """Create or update a rule. Applies to deadlines scheduled from now on."""
    data = _clean_rule(deadline_kind=deadline_kind, days_before=days_before, channels=channels,
                       recipient_roles=recipient_roles)
    reminder_rules_effective(agency=agency)  # materialise the defaults first
    try:
        with transaction.atomic():
            if rule is None:
                rule = ReminderRule(agency=agency)
            else:
                rule = ReminderRule.objects.select_for_update().get(pk=rule.pk)
            for key, value in data.items():
                setattr(rule, key, value)
            rule.notify_owner, rule.is_active = bool(notify_owner), bool(is_active)
            rule.save()
    except IntegrityError as exc:
        raise DomainValidationError(
            _("There is already a rule for this deadline kind and number of days."),
            details={"days_before": _("Already used for this kind.")},
        ) from exc
    return rule


def reminder_rule_delete(*, agency, rule: ReminderRule) -> None:
    with transaction.atomic():
        ReminderRule.objects.filter(agency=agency, pk=rule.pk).delete()


def policy_update(*, agency, values: dict) -> Policy:
    """Store the agency's overrides of the policy numbers (blank = back to the default)."""
    from rulebook.policy import policy_for

    overrides, errors = {}, {}
    for name, raw in values.items():
        if not hasattr(DEFAULTS, name):
            errors[name] = _("Unknown policy field.")
            continue
        raw = "" if raw is None else str(raw).strip()
        if raw == "":
            continue
        default = getattr(DEFAULTS, name)
        try:
            value = Decimal(raw) if isinstance(default, Decimal) else int(raw)
            if value < 0:
                raise ValueError
        except (InvalidOperation, ValueError):
            errors[name] = _("“%(v)s” is not a valid non-negative number.") % {"v": raw}
            continue
        if value != default:
            overrides[name] = str(value) if isinstance(value, Decimal) else value
    if errors:
        raise DomainValidationError(_("The policy has invalid values."), details=errors)
    with transaction.atomic():
        locked = Agency.objects.select_for_update().get(pk=agency.pk)
        settings_ = dict(locked.settings or {})
        settings_["policy"] = overrides
        locked.settings = settings_
        locked.save(update_fields=["settings"])
    agency.settings = locked.settings
    return policy_for(agency)
