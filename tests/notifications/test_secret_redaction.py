"""One-time signing links and codes are credentials: the outbox keeps them only until sent."""

import pytest
from django.utils import timezone

from notifications.models import OutboundMessage
from notifications.services.delivery import message_deliver
from notifications.services.enqueue import message_enqueue
from notifications.sms.backends import locmem


@pytest.mark.django_db(transaction=True)
def test_signing_code_is_delivered_then_redacted(world_a, settings):
    settings.SMS_BACKEND = "notifications.sms.backends.locmem.SmsBackend"
    settings.SMS_QUIET_HOURS_START = 0
    settings.SMS_QUIET_HOURS_END = 0
    locmem.outbox.clear()
    with world_a.scope():
        message, _ = message_enqueue(
            agency=world_a.agency, channel="sms", kind="signing_code", template_code="signing_code",
            idempotency_key="signing_code:test:1", params={"code": "482913", "minutes": 10, "agency": "A"},
            recipient_address="+8613800138000", send_after=timezone.now(),
        )
        message_deliver(agency=world_a.agency, message_id=message.pk)
        stored = OutboundMessage.objects.get(pk=message.pk)
    assert stored.status == "sent"
    assert any("482913" in str(getattr(m, "params", "")) + str(getattr(m, "text", "")) for m in locmem.outbox)
    assert stored.params["code"] == "[redacted]"
    assert "482913" not in stored.body
