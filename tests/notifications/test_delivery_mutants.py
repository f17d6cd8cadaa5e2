"""Delivery rules that surviving mutants showed unguarded (issue 20, sample of 40).

What a user would notice: one bad message in a batch holding back the others, a receiver of
`message_sent` (a signing code's expiry) told of a message that never left, the outbox not saying
that a message is being sent again after a worker died, a retry published although it was
rolled back.
"""

import itertools
from datetime import datetime, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import transaction
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from accounts.models import User
from agency.models import Agency
from notifications.models import OutboundMessage
from notifications.services.delivery import message_retry, messages_deliver_due, send_time_for
from notifications.services.enqueue import message_enqueue
from notifications.signals import message_sent
from notifications.sms.backends.locmem import SmsBackend as LocmemSmsBackend

from .test_delivery import enqueue

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")
STALE_NOTE = "The worker sending this message stopped; it is sent again."


def stored(message) -> OutboundMessage:
    with scopes_disabled():
        return OutboundMessage.objects.get(pk=message.pk)


def _in_order(*messages):
    """The sweep takes due rows oldest first: make the batch order the order given."""
    start = timezone.now() - timedelta(minutes=10)
    with scopes_disabled():
        for i, message in enumerate(messages):
            OutboundMessage.objects.filter(pk=message.pk).update(send_after=start + timedelta(seconds=i))


# --- What the transport call sees and does --------------------------------------------------------

during_send: list = []  # callables run inside the email transport call (another worker, a deletion…)
seen_while_sending: dict[str, str] = {}  # idempotency key -> the row's last_error during its send


class HookBackend(LocmemBackend):
    def send_messages(self, messages):
        for m in messages:
            key = m.extra_headers["X-Idempotency-Key"]
            with scopes_disabled():
                seen_while_sending[key] = OutboundMessage.objects.get(idempotency_key=key).last_error
        while during_send:
            during_send.pop(0)()
        return super().send_messages(messages)


@pytest.fixture
def hooked(settings):
    during_send.clear()
    seen_while_sending.clear()
    settings.MAILERS = {"default": {"BACKEND": f"{__name__}.HookBackend", "OPTIONS": {}}}
    from django.core.mail import mailers

    mailers.__dict__.pop("_connections", None)
    yield during_send
    during_send.clear()
    mailers.__dict__.pop("_connections", None)


@pytest.fixture
def told():
    """What `message_sent` receivers are told: one list of message ids per signal."""
    calls: list[list[int]] = []

    def receiver(sender, messages, **kwargs):
        calls.append(sorted(m.pk for m in messages))

    message_sent.connect(receiver, weak=False, dispatch_uid="test_delivery_mutants")
    yield calls
    message_sent.disconnect(dispatch_uid="test_delivery_mutants")


# --- One bad message does not hold back the rest of its batch --------------------------------------



def _broken_email(world):
    """An email whose template does not exist: it fails alone."""
    return message_enqueue(agency=world.agency, channel="email", kind="reminder", template_code="no_such_template",
                           idempotency_key="broken", recipient_user=world.user("owner"), params={}, language="en")[0]

def test_a_message_without_address_first_in_the_batch_does_not_stop_the_others(world_a, settings):
    settings.SMS_QUIET_HOURS_START = settings.SMS_QUIET_HOURS_END = 0
    no_mobile = enqueue(world_a, key="no-mobile", channel="sms")  # the owner has no mobile
    email, inapp = enqueue(world_a, key="email"), enqueue(world_a, key="inapp", channel="inapp")
    _in_order(no_mobile, email, inapp)
    totals = messages_deliver_due()
    assert (totals["sent"], totals["failed"]) == (2, 1)
    assert [stored(m).status for m in (no_mobile, email, inapp)] == ["failed", "sent", "sent"]
    assert len(mail.outbox) == 1


def test_a_message_whose_template_is_broken_does_not_stop_the_others(world_a):
    with scope(agency=world_a.agency):
        broken = _broken_email(world_a)
    fine, inapp = enqueue(world_a, key="fine"), enqueue(world_a, key="inapp", channel="inapp")
    _in_order(broken, fine, inapp)
    messages_deliver_due()
    assert [stored(m).status for m in (broken, fine, inapp)] == ["failed", "sent", "sent"]
    assert "render" in stored(broken).last_error
    assert [m.extra_headers["X-Idempotency-Key"] for m in mail.outbox] == ["fine"]


def test_a_removed_group_robot_first_in_the_batch_does_not_stop_the_others(world_a):
    with scope(agency=world_a.agency):
        robot = message_enqueue(
            agency=world_a.agency,
            channel="robot",
            kind="reminder",
            template_code="deadline_reminder",
            idempotency_key="robot",
            recipient_address="robot",
            params={"robot_id": 999999},
            language="en",
        )[0]
    email, inapp = enqueue(world_a, key="email"), enqueue(world_a, key="inapp", channel="inapp")
    _in_order(robot, email, inapp)
    messages_deliver_due()
    assert [stored(m).status for m in (robot, email, inapp)] == ["failed", "sent", "sent"]
    assert "robot" in stored(robot).last_error


def test_a_message_deleted_while_its_batch_is_sent_does_not_stop_the_others_being_recorded(world_a, hooked):
    """An in-app message removed while the batch's email is in the transport (its agency or task
    deleted meanwhile): the in-app messages after it are still recorded as sent."""
    gone = enqueue(world_a, key="gone", channel="inapp")
    email = enqueue(world_a, key="email")
    kept = enqueue(world_a, key="kept", channel="inapp")
    _in_order(gone, email, kept)

    def delete():
        with scopes_disabled():
            OutboundMessage.objects.filter(pk=gone.pk).delete()

    hooked.append(delete)
    messages_deliver_due()
    with scopes_disabled():
        assert not OutboundMessage.objects.filter(pk=gone.pk).exists()
    assert stored(email).status == "sent"
    assert stored(kept).status == "sent"


def test_a_message_another_worker_took_over_does_not_stop_the_others_being_recorded(world_a, hooked):
    """Another worker re-claimed an in-app message (as stale) and delivered it while ours was in
    the email transport: its record is kept as is, and the messages after it are recorded too."""
    taken = enqueue(world_a, key="taken", channel="inapp")
    email = enqueue(world_a, key="email")
    kept = enqueue(world_a, key="kept", channel="inapp")
    _in_order(taken, email, kept)
    other_claim = timezone.now() + timedelta(seconds=5)

    def other_worker_sends_it():
        with scopes_disabled():
            OutboundMessage.objects.filter(pk=taken.pk).update(
                status="sent", claimed_at=other_claim, sent_at=other_claim, subject="by the other worker"
            )

    hooked.append(other_worker_sends_it)
    messages_deliver_due()
    row = stored(taken)
    assert (row.status, row.subject, row.sent_at) == ("sent", "by the other worker", other_claim)
    assert stored(email).status == "sent"
    assert stored(kept).status == "sent"


# --- `message_sent`: told of the messages that left, once, and of nothing else --------------------


def test_receivers_are_told_once_of_the_messages_sent_and_not_of_the_failed_ones(world_a, settings, told):
    settings.SMS_QUIET_HOURS_START = settings.SMS_QUIET_HOURS_END = 0
    no_mobile = enqueue(world_a, key="no-mobile", channel="sms")
    email, inapp = enqueue(world_a, key="email"), enqueue(world_a, key="inapp", channel="inapp")
    messages_deliver_due()
    assert stored(no_mobile).status == "failed"
    assert told == [sorted([email.pk, inapp.pk])]


def test_receivers_are_not_told_when_nothing_was_sent(world_a, told):
    enqueue(world_a, key="fails")
    with mock.patch.object(LocmemBackend, "send_messages", side_effect=OSError("smtp down")):
        assert messages_deliver_due()["retry"] == 1
    assert told == []


def test_receivers_are_not_told_of_our_failed_send_of_a_message_another_worker_sent(world_a, hooked, told):
    """Our transport call failed, but another worker had taken the row over and sent it: that
    worker tells the receivers; we must not tell them of a send that did not happen."""
    message = enqueue(world_a, key="taken")
    other_claim = timezone.now() + timedelta(seconds=5)

    def other_worker_sends_it_then_ours_fails():
        with scopes_disabled():
            OutboundMessage.objects.filter(pk=message.pk).update(
                status="sent", claimed_at=other_claim, sent_at=other_claim
            )
        raise OSError("smtp down")

    hooked.append(other_worker_sends_it_then_ours_fails)
    totals = messages_deliver_due()
    assert totals["sent"] == 1  # the row is sent (by the other worker)
    assert stored(message).sent_at == other_claim
    assert told == []


# --- A row re-claimed from a dead worker says so --------------------------------------------------


def test_the_outbox_says_a_message_is_sent_again_after_its_worker_died(world_a, settings, hooked):
    settings.NOTIFY_SENDING_TIMEOUT_SECONDS = 600
    stale, fresh = enqueue(world_a, key="stale"), enqueue(world_a, key="fresh")
    with scopes_disabled():
        OutboundMessage.objects.filter(pk=stale.pk).update(
            status="sending", claimed_at=timezone.now() - timedelta(minutes=11)
        )
    messages_deliver_due()
    # While being sent again, the row tells whoever looks at the outbox why; a first send says nothing.
    assert seen_while_sending == {"stale": STALE_NOTE, "fresh": ""}
    assert (stored(stale).status, stored(stale).last_error) == ("sent", "")
    assert stored(fresh).status == "sent"


def test_a_stale_sms_held_for_the_morning_keeps_the_note_why(world_a, settings):
    """A dead worker's SMS, re-claimed during quiet hours, waits for the morning; the outbox says
    it will be sent again (a fresh SMS held the same way says nothing)."""
    settings.NOTIFY_SENDING_TIMEOUT_SECONDS = 600
    settings.SMS_QUIET_HOURS_START, settings.SMS_QUIET_HOURS_END = 0, 0
    stale = enqueue(world_a, key="stale-sms", channel="sms", recipient_address="+8613800138000")
    fresh = enqueue(world_a, key="fresh-sms", channel="sms", recipient_address="+8613800138001")
    with scopes_disabled():
        OutboundMessage.objects.filter(pk=stale.pk).update(
            status="sending", claimed_at=timezone.now() - timedelta(minutes=11)
        )
    # Quiet hours start now (local time): the sweep runs in them.
    now_hour = timezone.localtime(timezone.now(), world_a.agency.tz).hour
    settings.SMS_QUIET_HOURS_START, settings.SMS_QUIET_HOURS_END = now_hour, (now_hour + 1) % 24
    assert messages_deliver_due()["postponed"] == 2
    assert (stored(stale).status, stored(stale).last_error) == ("pending", STALE_NOTE)
    assert (stored(fresh).status, stored(fresh).last_error) == ("pending", "")


# --- A retry is published once its transaction commits, never if it rolls back --------------------


def _failed(world):
    message = enqueue(world, key="to-retry")
    with scopes_disabled():
        OutboundMessage.objects.filter(pk=message.pk).update(
            status="failed", attempts=5, last_error="smtp down"
        )
    return stored(message)


def test_a_retry_rolled_back_is_not_published_and_stays_failed(world_a, django_capture_on_commit_callbacks):
    message = _failed(world_a)
    with mock.patch("notifications.tasks.deliver.apply_async") as publish:
        with django_capture_on_commit_callbacks(execute=True):
            with pytest.raises(RuntimeError), transaction.atomic():
                with scope(agency=world_a.agency):
                    message_retry(agency=world_a.agency, message=message)
                raise RuntimeError("the rest of the request failed")
        assert publish.call_count == 0
    row = stored(message)
    assert (row.status, row.attempts) == ("failed", 5)
    assert messages_deliver_due()["sent"] == 0
    assert mail.outbox == []


def test_a_retry_committed_is_published_once_and_sent(world_a, django_capture_on_commit_callbacks):
    message = _failed(world_a)
    with mock.patch("notifications.tasks.deliver.apply_async") as publish:
        with django_capture_on_commit_callbacks(execute=True):
            with scope(agency=world_a.agency):
                message_retry(agency=world_a.agency, message=message)
        assert publish.call_count == 1
        assert publish.call_args.kwargs["kwargs"] == {
            "agency_id": world_a.agency.pk,
            "message_id": message.pk,
        }
    assert (stored(message).status, stored(message).attempts) == ("pending", 0)
    assert messages_deliver_due()["sent"] == 1
    assert len(mail.outbox) == 1


# --- The sweep works through every due batch within its time budget --------------------------------


def test_one_sweep_sends_every_due_batch_within_its_time_budget(world_a):
    messages = [enqueue(world_a, key=f"m{i}", channel="inapp") for i in range(5)]
    totals = messages_deliver_due(batch_size=2, max_seconds=600)
    assert (totals["sent"], totals["batches"]) == (5, 3)
    assert {stored(m).status for m in messages} == {"sent"}


def test_a_sweep_out_of_time_stops_after_its_batch_and_the_next_sweep_goes_on(world_a):
    for i in range(5):
        enqueue(world_a, key=f"m{i}", channel="inapp")
    with mock.patch(
        "notifications.services.delivery.time_module.monotonic", side_effect=itertools.count(0.0, 1000.0)
    ):
        assert messages_deliver_due(batch_size=2, max_seconds=600)["sent"] == 2
    assert messages_deliver_due(batch_size=2, max_seconds=600)["sent"] == 3


def test_an_sms_of_a_kind_without_sms_template_fails_alone_and_the_batch_goes_on(
    world_a, settings, _sms_locmem
):
    settings.SMS_QUIET_HOURS_START = settings.SMS_QUIET_HOURS_END = 0
    with scope(agency=world_a.agency):
        untemplated = message_enqueue(
            agency=world_a.agency,
            channel="sms",
            kind="no_sms_template_kind",
            template_code="deadline_reminder",
            idempotency_key="untemplated",
            recipient_address="+8613800138000",
            body="hi",
        )[0]
    email, inapp = enqueue(world_a, key="email"), enqueue(world_a, key="inapp", channel="inapp")
    _in_order(untemplated, email, inapp)
    messages_deliver_due()
    row = stored(untemplated)
    assert row.status == "failed" and "no SMS template" in row.last_error
    assert _sms_locmem == []  # never sent under another kind's template
    assert [stored(m).status for m in (email, inapp)] == ["sent", "sent"]


# --- Attempts count real sends only ----------------------------------------------------------------

sms_during_send: list = []  # callables run inside the SMS transport call


class HookSmsBackend(LocmemSmsBackend):
    def send(self, messages):
        while sms_during_send:
            sms_during_send.pop(0)()
        return super().send(messages)


class TencentSmsBackend(LocmemSmsBackend):
    provider = "tencent"


def test_an_sms_another_worker_took_over_and_sent_counts_both_sends(world_a, settings, _sms_locmem):
    """Our SMS left, but meanwhile another worker had taken the row over and sent it too: the
    outbox shows two attempts (two SMS went out) and keeps the other worker's record."""
    settings.SMS_QUIET_HOURS_START = settings.SMS_QUIET_HOURS_END = 0
    settings.SMS_BACKEND = f"{__name__}.HookSmsBackend"
    message = enqueue(world_a, key="taken-sms", channel="sms", recipient_address="+8613800138000")
    other_claim = timezone.now() + timedelta(seconds=5)

    def other_worker_sends_it():
        with scopes_disabled():
            OutboundMessage.objects.filter(pk=message.pk).update(
                status="sent", claimed_at=other_claim, sent_at=other_claim, attempts=1
            )

    sms_during_send[:] = [other_worker_sends_it]
    messages_deliver_due()
    row = stored(message)
    assert (row.status, row.sent_at, row.attempts) == ("sent", other_claim, 2)
    assert len(_sms_locmem) == 1


def test_messages_that_never_reached_a_transport_show_no_attempt(world_a, settings, _sms_locmem):
    """No address, no SMS template, a broken template: nothing was sent, so the outbox shows
    0 attempts (an in-app message has no transport call either)."""
    settings.SMS_QUIET_HOURS_START = settings.SMS_QUIET_HOURS_END = 0
    no_mobile = enqueue(world_a, key="no-mobile", channel="sms")  # the owner has no mobile
    inapp = enqueue(world_a, key="inapp", channel="inapp")
    with scope(agency=world_a.agency):
        untemplated = message_enqueue(
            agency=world_a.agency,
            channel="sms",
            kind="no_sms_template_kind",
            template_code="deadline_reminder",
            idempotency_key="untemplated",
            recipient_address="+8613800138000",
            body="hi",
        )[0]
        broken = _broken_email(world_a)
    messages_deliver_due()
    rows = [stored(m) for m in (no_mobile, untemplated, broken, inapp)]
    assert [r.status for r in rows] == ["failed", "failed", "failed", "sent"]
    assert [r.attempts for r in rows] == [0, 0, 0, 0]
    assert mail.outbox == [] and _sms_locmem == []


def test_a_message_another_worker_reclaimed_but_did_not_send_is_recorded_by_us(world_a, hooked):
    """Another worker claimed an in-app message again while our batch's email was in the
    transport, but has not delivered it: our delivery is recorded (the row does not stay
    `sending`, to be delivered a second time once it looks stale)."""
    inapp = enqueue(world_a, key="reclaimed", channel="inapp")
    email = enqueue(world_a, key="email")
    _in_order(inapp, email)
    other_claim = timezone.now() + timedelta(seconds=5)

    def other_worker_claims_it():
        with scopes_disabled():
            OutboundMessage.objects.filter(pk=inapp.pk).update(status="sending", claimed_at=other_claim)

    hooked.append(other_worker_claims_it)
    totals = messages_deliver_due()
    assert totals["sent"] == 2
    assert [stored(m).status for m in (inapp, email)] == ["sent", "sent"]


# --- Quiet hours ---------------------------------------------------------------------------------


def test_an_sms_planned_at_night_waits_for_the_morning_unless_asked_for_now(settings):
    """A reminder SMS planned for 23:30 goes out at the end of quiet hours; a code asked for at
    23:30 goes now, and so does an email."""
    settings.SMS_QUIET_HOURS_START, settings.SMS_QUIET_HOURS_END = 22, 8
    night = datetime(2030, 1, 2, 23, 30, tzinfo=SH)
    assert send_time_for(channel="sms", moment=night, tz=SH) == datetime(2030, 1, 3, 8, 0, tzinfo=SH)
    assert send_time_for(channel="sms", moment=night, tz=SH, transactional=True) == night
    assert send_time_for(channel="email", moment=night, tz=SH) == night


# --- The email's sender --------------------------------------------------------------------------


def test_an_email_comes_from_the_agency_by_name_on_the_site_address(world_a, settings):
    settings.DEFAULT_FROM_EMAIL = "Site Name <noreply@example.test>"
    with scopes_disabled():
        Agency.objects.filter(pk=world_a.agency.pk).update(name="Star Sea MCN")
    enqueue(world_a)
    messages_deliver_due()
    assert [m.from_email for m in mail.outbox] == ["Star Sea MCN <noreply@example.test>"]


def test_an_email_of_an_agency_without_a_name_comes_from_the_site_name(world_a, settings):
    settings.DEFAULT_FROM_EMAIL = "Site Name <noreply@example.test>"
    with scopes_disabled():
        Agency.objects.filter(pk=world_a.agency.pk).update(name="")
    enqueue(world_a)
    messages_deliver_due()
    assert [m.from_email for m in mail.outbox] == ["Site Name <noreply@example.test>"]


# --- SMS under the provider's template ------------------------------------------------------------


def test_an_sms_variable_is_cut_to_the_providers_template_limit(world_a, settings, _sms_locmem):
    """Tencent accepts 12 characters a variable here: a long account name is shortened to that,
    not to the 35 of the default (the provider would refuse the SMS)."""
    settings.SMS_QUIET_HOURS_START = settings.SMS_QUIET_HOURS_END = 0
    settings.SMS_BACKEND = f"{__name__}.TencentSmsBackend"
    settings.SMS_TEMPLATES = {"reminder": {"tencent": {"id": "1234567", "max_length": 12}}}
    with scope(agency=world_a.agency):
        message_enqueue(
            agency=world_a.agency,
            channel="sms",
            kind="reminder",
            template_code="deadline_reminder",
            idempotency_key="long",
            recipient_address="+8613800138000",
            language="zh-hans",
            params={
                "account": "一个名字非常非常长的抖音账号用于测试截断",
                "platform": "抖音",
                "label": "l",
                "rule": "r",
                "days_before": 1,
                "due_date": "2030-01-02 10:00",
                "path": "/x/",
            },
        )
    messages_deliver_due()
    assert len(_sms_locmem) == 1
    account = _sms_locmem[0].variables["account"]
    assert 0 < len(account) <= 12


# --- The sweep's time budget ---------------------------------------------------------------------


def test_a_sweep_without_a_time_budget_uses_the_configured_one(world_a, settings):
    settings.NOTIFY_SWEEP_MAX_SECONDS = 600
    messages = [enqueue(world_a, key=f"m{i}", channel="inapp") for i in range(5)]
    assert messages_deliver_due(batch_size=2)["sent"] == 5
    assert {stored(m).status for m in messages} == {"sent"}


def test_a_time_budget_given_to_the_sweep_wins_over_the_configured_one(world_a, settings):
    settings.NOTIFY_SWEEP_MAX_SECONDS = 0
    for i in range(5):
        enqueue(world_a, key=f"m{i}", channel="inapp")
    with mock.patch(
        "notifications.services.delivery.time_module.monotonic", side_effect=itertools.count(100.0, 1.0)
    ):
        assert messages_deliver_due(batch_size=2, max_seconds=600)["sent"] == 5


# --- Subject and address --------------------------------------------------------------------------


def test_an_email_with_a_stored_body_and_no_subject_file_takes_its_first_line_as_subject(world_a):
    first_line = "Your account " + "x" * 150
    with scope(agency=world_a.agency):
        message_enqueue(
            agency=world_a.agency,
            channel="email",
            kind="reminder",
            template_code="no_such_template",
            idempotency_key="bodied",
            recipient_user=world_a.user("owner"),
            body=first_line + "\nsecond line",
            language="en",
        )
    messages_deliver_due()
    assert [m.subject for m in mail.outbox] == [first_line[:120]]


def test_each_channel_goes_to_the_users_address_for_it_unless_one_is_given(world_a, settings, _sms_locmem):
    settings.SMS_QUIET_HOURS_START = settings.SMS_QUIET_HOURS_END = 0
    owner = world_a.user("owner")
    User.objects.filter(pk=owner.pk).update(mobile="+8613900139000")
    enqueue(world_a, key="sms", channel="sms")
    enqueue(world_a, key="email")
    enqueue(world_a, key="given", recipient_address="other@example.test")
    inapp = enqueue(world_a, key="inapp", channel="inapp")
    messages_deliver_due()
    assert [m.to for m in _sms_locmem] == ["+8613900139000"]
    assert sorted(m.to[0] for m in mail.outbox) == sorted([owner.email, "other@example.test"])
    assert stored(inapp).status == "sent"
