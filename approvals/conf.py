"""Knobs of the approval and signing machinery (not domain numbers: those live in
rulebook.policy). Each can be overridden in settings / the environment."""

from django.conf import settings


def signing_link_ttl_hours() -> int:
    return int(settings.SIGNING_LINK_TTL_HOURS)


def signing_code_ttl_minutes() -> int:
    return int(getattr(settings, "SIGNING_CODE_TTL_MINUTES", 10))


def signing_code_max_attempts() -> int:
    """Wrong codes allowed per link; after that the link is locked until an operator re-sends it."""
    return int(getattr(settings, "SIGNING_CODE_MAX_ATTEMPTS", 5))


def signing_code_max_sends() -> int:
    return int(getattr(settings, "SIGNING_CODE_MAX_SENDS", 5))


def signing_code_resend_seconds() -> int:
    return int(getattr(settings, "SIGNING_CODE_RESEND_SECONDS", 60))


def fallback_level_sla_hours() -> int:
    """SLA of the single built-in level used when an agency has not set up a policy yet."""
    return int(getattr(settings, "APPROVAL_FALLBACK_SLA_HOURS", 24))


def escalation_grace_hours(sla_hours: int) -> int:
    """How long after the SLA reminder a level escalates to the agency owner (default: one more SLA)."""
    value = getattr(settings, "APPROVAL_ESCALATION_GRACE_HOURS", None)
    return int(value) if value is not None else int(sla_hours)


def signatures_inline_max_items() -> int:
    """Up to this many items, signature links are created in the approving request itself;
    above it, by a worker right after commit."""
    return int(getattr(settings, "SIGNATURES_INLINE_MAX_ITEMS", 200))


INBOX_PAGE_SIZE = 50


def urge_interval_minutes() -> int:
    """催办: how often the current approvers of one level may be reminded by hand."""
    return int(getattr(settings, "APPROVAL_URGE_INTERVAL_MINUTES", 60))
