"""SMS the way Chinese providers work: a template code plus parameters, never free text.

`settings.SMS_BACKEND` is the dotted path of a class with `send(messages) -> list[SmsResult]`.
"""

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass
class SmsMessage:
    to: str                      # E.164, e.g. +8613800138000
    template_code: str           # the provider's template code (settings.SMS_TEMPLATE_CODES)
    params: dict = field(default_factory=dict)
    text: str = ""               # the rendered text (console/file backends show it)
    idempotency_key: str = ""    # handed to the provider where it has such a field
    sign_name: str = ""


@dataclass
class SmsResult:
    ok: bool
    provider_message_id: str = ""
    error: str = ""


class BaseSmsBackend(ABC):
    """An SMS backend sends template codes with parameters; one SmsResult per message, in order."""

    def __init__(self, **options):
        self.options = options

    @abstractmethod
    def send(self, messages: list[SmsMessage]) -> list[SmsResult]: ...


def get_sms_backend(path: str | None = None) -> BaseSmsBackend:
    return import_string(path or settings.SMS_BACKEND)()


def provider_template_code(template_code: str) -> str:
    """Map our template code to the provider's (JSON in SMS_TEMPLATE_CODES); unmapped codes pass through."""
    raw = settings.SMS_TEMPLATE_CODES
    mapping = json.loads(raw) if isinstance(raw, str) else dict(raw or {})
    return mapping.get(template_code, template_code)
