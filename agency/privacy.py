"""Personal data of account holders (PIPL): their mobile numbers and emails are masked in lists
and exports unless the member's role holds `subaccounts.contacts` (accounts/roles.py)."""

from accounts.roles import role_has

CONTACT_PERMISSION = "subaccounts.contacts"


def mask_mobile(value: str | None, *, with_country_code: bool = False) -> str:
    """+8613800138013 → 138****8013 (the country code dropped, the middle four hidden), or
    +86138****8013 with `with_country_code` (where the number a message went to is shown)."""
    value = (value or "").strip()
    if not value:
        return ""
    if with_country_code:
        return value[:-8] + "****" + value[-4:] if len(value) > 8 else "****"
    digits = value[3:] if value.startswith("+86") else value.lstrip("+")
    if len(digits) < 8:
        return "****"
    return digits[:3] + "****" + digits[-4:]


def mask_email(value: str | None) -> str:
    """zhangsan@example.cn → z***@example.cn."""
    value = (value or "").strip()
    if not value:
        return ""
    name, _sep, domain = value.partition("@")
    return (name[:1] + "***@" + domain) if domain else "***"


def mask_address(value: str | None) -> str:
    """An owner's mobile number or email, as staff see where a message went."""
    value = (value or "").strip()
    if not value:
        return ""
    return mask_email(value) if "@" in value else mask_mobile(value, with_country_code=True)


def may_see_contacts(role: str | None) -> bool:
    return role_has(role, CONTACT_PERMISSION)
