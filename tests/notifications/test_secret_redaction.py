"""One-time signing links and codes are credentials: sealed in the outbox, readable only by the
transport, dropped once sent; transactional codes ignore the SMS quiet hours."""

from datetime import datetime

import pytest
import time_machine
from django.utils import timezone

from notifications.models import OutboundMessage
from notifications.secrets import seal, unseal
from notifications.services.delivery import message_cancel, message_deliver, messages_deliver_due
from notifications.services.enqueue import message_enqueue
from notifications.sms.backends import locmem


def _code_message(agency, *, key="signing_code:test:1:1", transactional=True, code="482913"):
    message, _ = message_enqueue(
        agency=agency, channel="sms", kind="signing_code", template_code="signing_code", idempotency_key=key,
        params={"minutes": 10, "agency": "A"}, secrets={"code": code}, transactional=transactional,
        recipient_address="+8613800138013", send_after=timezone.now())
    return message


@pytest.mark.django_db(transaction=True)
def test_a_code_is_sealed_until_sent_then_gone(world_a, settings):
    settings.SMS_QUIET_HOURS_START = settings.SMS_QUIET_HOURS_END = 0
    with world_a.scope():
        message = _code_message(world_a.agency)
        stored = OutboundMessage.objects.get(pk=message.pk)
        assert "482913" not in str(stored.params) + stored.body + stored.sealed
        assert unseal(stored.sealed) == {"code": "482913"}
        message_deliver(agency=world_a.agency, message_id=message.pk)
        stored = OutboundMessage.objects.get(pk=message.pk)
    assert stored.status == "sent"
    assert "482913" in locmem.outbox[-1].text and locmem.outbox[-1].params["code"] == "482913"
    assert stored.sealed == "" and "482913" not in str(stored.params) + stored.body
    assert stored.summary == "One-time code, sent to +86138****8013"


@pytest.mark.django_db
def test_a_code_asked_for_at_half_past_ten_at_night_goes_at_once(world_a):
    night = datetime(2026, 3, 10, 22, 30, tzinfo=world_a.agency.tz)
    with time_machine.travel(night, tick=False), world_a.scope():
        code = _code_message(world_a.agency)
        link, _ = message_enqueue(agency=world_a.agency, channel="sms", kind="signing_link",
                                  template_code="signing_link", idempotency_key="signing_link:1:1:sms",
                                  params={"owner_name": "王", "agency": "A", "account": "x", "expires_at": "…"},
                                  secrets={"link": "https://x.test/sign/abc/"}, recipient_address="+8613800138013")
        assert code.send_after == timezone.now()
        assert link.send_after > timezone.now()  # a link (not transactional) still waits for the morning
        result = messages_deliver_due()
    assert result["sent"] == 1
    assert [m.idempotency_key for m in locmem.outbox] == ["signing_code:test:1:1"]


@pytest.mark.django_db
def test_a_cancelled_secret_message_drops_its_secret_and_cannot_be_retried_into_a_blank(world_a):
    from agency.exceptions import Conflict
    from notifications.services.delivery import message_retry

    with world_a.scope():
        message = _code_message(world_a.agency, key="signing_code:test:2:1")
        message_cancel(agency=world_a.agency, message=message)
        assert OutboundMessage.objects.get(pk=message.pk).sealed == ""
        OutboundMessage.objects.filter(pk=message.pk).update(status="failed")
        with pytest.raises(Conflict):
            message_retry(agency=world_a.agency, message=message)


def test_sealed_values_do_not_open_under_another_key(settings):
    sealed = seal({"code": "123456"})
    assert unseal(sealed) == {"code": "123456"}
    settings.OUTBOX_SEAL_KEYS = ["x" * 43 + "="]
    assert unseal(sealed) == {}


@pytest.mark.django_db
def test_a_provider_error_that_echoes_the_code_is_stored_without_it(world_a, settings, monkeypatch):
    from notifications.sms import SmsResult

    settings.SMS_QUIET_HOURS_START = settings.SMS_QUIET_HOURS_END = 0
    monkeypatch.setattr(locmem.SmsBackend, "send", lambda self, messages: [
        SmsResult(ok=False, error=f"isv.INVALID_PARAMETERS: code={m.params['code']} rejected") for m in messages])
    with world_a.scope():
        message = _code_message(world_a.agency, key="signing_code:test:3:1", code="551177")
        message_deliver(agency=world_a.agency, message_id=message.pk)
        stored = OutboundMessage.objects.get(pk=message.pk)
    assert stored.status == "pending" and "551177" not in stored.last_error
    assert "code=[redacted] rejected" in stored.last_error
