"""Email exactly once: claim a message and commit that it is being sent, call the transport
outside any transaction, record the result; a message left `sending` by a dead worker is sent
again after the timeout; `attempts` counts real sends."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import connection
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from notifications.models import OutboundMessage
from notifications.services.delivery import message_deliver, messages_deliver_due

from .test_delivery import enqueue

seen_while_sending: list[tuple] = []


class WatchingBackend(LocmemBackend):
    """Notes, at the moment of the transport call, what the database says and whether a
    transaction is open."""

    def send_messages(self, messages):
        for m in messages:
            key = m.extra_headers["X-Idempotency-Key"]
            with scopes_disabled():
                status = OutboundMessage.objects.get(idempotency_key=key).status
            seen_while_sending.append((key, status, connection.in_atomic_block))
        return super().send_messages(messages)


@pytest.fixture
def watching(settings):
    seen_while_sending.clear()
    settings.MAILERS = {"default": {"BACKEND": f"{__name__}.WatchingBackend", "OPTIONS": {}}}
    from django.core.mail import mailers

    mailers.__dict__.pop("_connections", None)
    yield seen_while_sending


@pytest.mark.django_db(transaction=True)
def test_the_claim_is_committed_before_the_email_leaves_and_no_transaction_is_open(world_a, watching):
    enqueue(world_a, key="c1")
    enqueue(world_a, key="c2")
    totals = messages_deliver_due()
    assert totals["sent"] == 2
    assert sorted(watching) == [("c1", "sending", False), ("c2", "sending", False)]
    with scopes_disabled():
        assert set(OutboundMessage.objects.values_list("status", "attempts")) == {("sent", 1)}


@pytest.mark.django_db(transaction=True)
def test_the_single_message_path_claims_commits_sends_and_records(world_a, watching):
    message = enqueue(world_a, key="one")
    with scope(agency=world_a.agency):
        assert message_deliver(agency=world_a.agency, message_id=message.pk) == "sent"
        assert message_deliver(agency=world_a.agency, message_id=message.pk) == "sent"  # nothing sent twice
    assert watching == [("one", "sending", False)]
    assert len(mail.outbox) == 1


def test_a_message_left_sending_by_a_dead_worker_is_sent_after_the_timeout(world_a, settings):
    settings.NOTIFY_SENDING_TIMEOUT_SECONDS = 600
    stale, fresh = enqueue(world_a, key="stale"), enqueue(world_a, key="fresh")
    now = timezone.now()
    with scopes_disabled():
        OutboundMessage.objects.filter(pk=stale.pk).update(status="sending", claimed_at=now - timedelta(minutes=11))
        OutboundMessage.objects.filter(pk=fresh.pk).update(status="sending", claimed_at=now - timedelta(minutes=2))
    messages_deliver_due()
    assert [m.extra_headers["X-Idempotency-Key"] for m in mail.outbox] == ["stale"]
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert (stale.status, stale.attempts) == ("sent", 1)
    assert fresh.status == "sending"  # its worker may still be inside the transport call
    messages_deliver_due(now=now + timedelta(minutes=9))
    fresh.refresh_from_db()
    assert fresh.status == "sent" and len(mail.outbox) == 2


def test_attempts_count_real_sends_not_postponements_or_missing_addresses(world_a, settings):
    from tests.factories import UserFactory

    settings.SMS_QUIET_HOURS_START = settings.SMS_QUIET_HOURS_END = 0
    failing = enqueue(world_a, key="fails")
    with scope(agency=world_a.agency):
        from notifications.services.enqueue import message_enqueue

        no_address = message_enqueue(agency=world_a.agency, channel="sms", kind="reminder",
                                     template_code="deadline_reminder", idempotency_key="noaddr",
                                     recipient_user=UserFactory(mobile=""), params={}, language="en")[0]
    from unittest import mock

    with mock.patch.object(LocmemBackend, "send_messages", side_effect=OSError("smtp down")):
        messages_deliver_due()
    failing.refresh_from_db()
    no_address.refresh_from_db()
    assert (failing.status, failing.attempts) == ("pending", 1)
    assert (no_address.status, no_address.attempts) == ("failed", 0)


def test_one_sweep_sends_a_dead_workers_message_and_every_due_one_in_batches(world_a, settings):
    """Rows left `sending` by a dead worker and due rows are claimed by separate queries: a short
    batch of the first must not end the sweep before the due rows are sent, each once."""
    settings.NOTIFY_SENDING_TIMEOUT_SECONDS = 600
    stale = enqueue(world_a, key="stale")
    due = [enqueue(world_a, key=f"due{i}") for i in range(5)]
    with scopes_disabled():
        OutboundMessage.objects.filter(pk=stale.pk).update(status="sending",
                                                           claimed_at=timezone.now() - timedelta(minutes=11))
    totals = messages_deliver_due(batch_size=2)
    assert totals["sent"] == 6
    assert sorted(m.extra_headers["X-Idempotency-Key"] for m in mail.outbox) == sorted(
        ["stale", *(f"due{i}" for i in range(5))])
    with scopes_disabled():
        assert set(OutboundMessage.objects.filter(pk__in=[stale.pk, *(m.pk for m in due)])
                   .values_list("status", "attempts")) == {("sent", 1)}
