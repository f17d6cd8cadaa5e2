"""The one role → permission map of the product.

Every check in views, API views and services asks `role_has(role, permission)`;
nothing else compares role names. Roles appear by name elsewhere only to *choose people*
(who is reminded or alerted: rulebook.policy; who fills a built-in approval level).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    OWNER = "owner", _("Agency owner")
    ADMIN = "admin", _("Administrator")
    OPERATOR = "operator", _("Operator")
    LEGAL = "legal", _("Legal")
    FINANCE = "finance", _("Finance")
    AUDITOR = "auditor", _("Auditor (read-only)")


ALL = frozenset(Role.values)
MANAGERS = frozenset({Role.OWNER, Role.ADMIN})
OPERATORS = MANAGERS | {Role.OPERATOR}
DECIDERS = OPERATORS | {Role.LEGAL, Role.FINANCE}

PERMISSIONS: dict[str, frozenset[str]] = {
    # the agency workspace
    "agency.view": ALL,
    "agency.settings": MANAGERS,
    "members.view": ALL,
    "members.manage": MANAGERS,
    # sign-in: the second-factor policy and identity providers; members' security events
    "security.manage": MANAGERS,
    "security.events": frozenset({Role.OWNER}),
    # sub-account registry
    "subaccounts.view": ALL,
    "subaccounts.edit": OPERATORS,
    "subaccounts.import": OPERATORS,
    "subaccounts.export": ALL,
    # account holders' mobile numbers and emails unmasked (PIPL): pages and exports
    "subaccounts.contacts": frozenset({Role.OWNER, Role.ADMIN, Role.LEGAL}),
    # shutdown tasks
    "tasks.view": ALL,
    "tasks.edit": OPERATORS,
    "tasks.submit": OPERATORS,
    "tasks.execute": OPERATORS,
    "tasks.cancel": MANAGERS,
    # approvals and signatures
    "approvals.decide": DECIDERS,
    "approvals.policy": MANAGERS,
    "appeals.decide": frozenset({Role.OWNER}),
    "signatures.manage": OPERATORS,
    # show an owner's signing link (as a QR code to forward): the raw link, to this one person
    "signatures.forward": MANAGERS,
    # deadlines, reminders, monitoring
    "deadlines.view": ALL,
    "reminders.manage": MANAGERS,
    "monitoring.ingest": OPERATORS,
    # audit
    "audit.view": ALL,
    "audit.export": MANAGERS | {Role.LEGAL, Role.AUDITOR},
}


def role_has(role: str | None, permission: str) -> bool:
    if permission not in PERMISSIONS:
        raise KeyError(f"Unknown permission {permission!r}: add it to accounts.roles.PERMISSIONS")
    return role is not None and role in PERMISSIONS[permission]


def roles_with(permission: str) -> list[str]:
    """Roles that hold a permission, in the order of Role (for '403: needs role X' messages)."""
    allowed = PERMISSIONS[permission]
    return [r for r in Role.values if r in allowed]


def role_labels_with(permission: str) -> str:
    labels = dict(Role.choices)
    return ", ".join(str(labels[r]) for r in roles_with(permission))
