"""`{{ link|absolute }}`: a link stored as a path inside the back office (`/a/…`) becomes a
full address for emails and SMS, built from SITE_URL (which `make run` derives from HOST and
PORT). Links already absolute pass through unchanged."""

from django import template
from django.conf import settings

register = template.Library()


@register.filter
def absolute(value) -> str:
    value = "" if value is None else str(value)
    if value.startswith("/"):
        return settings.SITE_URL.rstrip("/") + value
    return value
