"""The one entry point for anything that must reach a person by email, SMS or in-app.

Callers (reminders, approvals, signing links, alerts) store a message row inside their
own transaction; delivery happens later, by the sweep, exactly once per idempotency key.
"""

from django.db import IntegrityError, transaction
from django.utils import timezone

from notifications.models import OutboundMessage


def message_enqueue(*, agency, channel: str, kind: str, template_code: str, idempotency_key: str,
                    params: dict | None = None, recipient_user=None, recipient_address: str = "",
                    send_after=None, language: str = "zh-hans", subject: str = "", body: str = "",
                    task=None) -> tuple[OutboundMessage, bool]:
    """Store a message unless one with the same key exists. Returns (message, created)."""
    if recipient_user is None and not recipient_address:
        raise ValueError("A message needs a recipient user or address")
    existing = OutboundMessage.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            message = OutboundMessage.objects.create(
                agency=agency, channel=channel, kind=kind, template_code=template_code, params=params or {},
                recipient_user=recipient_user, recipient_address=recipient_address,
                send_after=send_after or timezone.now(), language=language, subject=subject, body=body,
                idempotency_key=idempotency_key, task=task,
            )
    except IntegrityError:
        return OutboundMessage.objects.get(idempotency_key=idempotency_key), False
    return message, True
