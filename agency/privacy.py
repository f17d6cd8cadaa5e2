"""Personal data of account holders (PIPL): their mobile numbers and emails are masked in lists
and exports unless the member's role holds `subaccounts.contacts` (accounts/roles.py)."""

from django.utils.translation import gettext as _

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


CONTACT_FIELDS = ("owner_mobile", "owner_email")
MASK_MARK = "*"


def mask_contact(name: str, value):
    """A contact field's value as a member without the contact permission sees it."""
    if name == "owner_mobile":
        return mask_mobile(value)
    if name == "owner_email":
        return mask_email(value)
    return value


def masked_contacts(record: dict, *, may_see: bool) -> dict:
    """A copy of `record` (a serialised account, or a history entry's {field: [old, new]}) with the
    account holder's contacts masked unless the member may see them."""
    if may_see:
        return record
    shown = dict(record)
    for name in CONTACT_FIELDS:
        if name not in shown:
            continue
        value = shown[name]
        if isinstance(value, list | tuple):
            shown[name] = [mask_contact(name, v) if v else v for v in value]
        else:
            shown[name] = mask_contact(name, value)
    return shown


def unmask_unchanged(data: dict, *, current) -> tuple[dict, dict]:
    """A member who may not see contacts sends back what they were shown: a masked value that
    matches the stored one means "unchanged" (dropped from `data`); any other value holding the
    mask mark cannot be stored (a field error). Returns (data, errors)."""
    data, errors = dict(data), {}
    for name in CONTACT_FIELDS:
        value = data.get(name)
        if not isinstance(value, str) or MASK_MARK not in value:
            continue
        stored = getattr(current, name, "") if current is not None else ""
        if stored and value.strip() == mask_contact(name, stored):
            del data[name]
        else:
            errors[name] = [_("“%(value)s” is a masked value: type the full value, or leave the field as shown "
                              "to keep it.") % {"value": value}]
    return data, errors
