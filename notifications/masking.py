"""How an owner's address is shown to agency staff: enough to recognise it, not to use it."""


def mask_mobile(value: str) -> str:
    return value[:-8] + "****" + value[-4:] if len(value) > 8 else "****"


def mask_email(value: str) -> str:
    name, _sep, domain = value.partition("@")
    return (name[:1] + "***@" + domain) if domain else "***"


def mask_address(value: str) -> str:
    if not value:
        return ""
    return mask_email(value) if "@" in value else mask_mobile(value)
