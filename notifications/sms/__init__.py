"""SMS the way Chinese providers work: a registered template plus its variables, never free text.

`settings.SMS_BACKEND` is the dotted path of a class with `send(messages) -> list[SmsResult]`.
What each kind of message fills in is declared in notifications.sms.templates; which template
of which provider it uses, in settings.SMS_TEMPLATES (notifications.sms.config).
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass
class SmsMessage:
    to: str  # E.164, e.g. +8613800138000
    kind: str  # the message kind (reminder, signing_link, …): picks the template
    variables: dict = field(default_factory=dict)  # the template's variables, in its order (templates.py)
    text: str = ""  # the text as the suggested template reads (console/file backends show it)
    idempotency_key: str = ""  # handed to the provider where it has such a field

    @property
    def params(self) -> dict:
        return self.variables


@dataclass
class SmsResult:
    ok: bool
    provider_message_id: str = ""
    error: str = ""
    permanent: bool = False  # no use retrying (e.g. no template configured for this kind)


class BaseSmsBackend(ABC):
    """An SMS backend sends template variables; one SmsResult per message, in order."""

    provider = ""  # "aliyun" / "tencent": whose templates (settings.SMS_TEMPLATES) it uses

    def __init__(self, **options):
        self.options = options

    @abstractmethod
    def send(self, messages: list[SmsMessage]) -> list[SmsResult]: ...


def get_sms_backend(path: str | None = None) -> BaseSmsBackend:
    return import_string(path or settings.SMS_BACKEND)()
