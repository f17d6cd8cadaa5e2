"""Delivery rules that the mutation sample of 3 December showed unguarded: what a person reading
the outbox or their notices would notice."""

from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from notifications.models import OutboundMessage
from notifications.services.delivery import message_mark_read, messages_deliver_due

from .test_delivery import enqueue
from .test_delivery_mutants import hooked, stored  # noqa: F401 - `hooked` is a fixture

pytestmark = pytest.mark.django_db


def test_an_email_retried_after_a_refusal_keeps_the_message_id_it_was_given(world_a):
    """Mail servers and the recipient's client drop a duplicate by its Message-ID: a retry must
    send the one stored when the message was queued, not a new one."""
    message = enqueue(world_a, key="retry-id")
    given = stored(message).email_message_id
    assert given
    with mock.patch.object(LocmemBackend, "send_messages", side_effect=OSError("421 try later")):
        assert messages_deliver_due()["retry"] == 1
    with scopes_disabled():
        OutboundMessage.objects.filter(pk=message.pk).update(send_after=timezone.now() - timedelta(seconds=1))
    assert messages_deliver_due()["sent"] == 1
    assert [m.extra_headers.get("Message-ID") or m.message()["Message-ID"] for m in mail.outbox] == [given]
    assert stored(message).email_message_id == given


def test_a_message_past_a_lowered_attempt_limit_fails_at_its_next_refusal(world_a, settings):
    """The operator lowered NOTIFY_MAX_ATTEMPTS below what a message already used: its next
    refusal ends it (failed), it does not go on being retried."""
    message = enqueue(world_a, key="many-attempts")
    with scopes_disabled():
        OutboundMessage.objects.filter(pk=message.pk).update(attempts=5)
    settings.NOTIFY_MAX_ATTEMPTS = 3
    with mock.patch.object(LocmemBackend, "send_messages", side_effect=OSError("550 mailbox unavailable")):
        totals = messages_deliver_due()
    row = stored(message)
    assert (totals["failed"], totals["retry"]) == (1, 0)
    assert (row.status, row.attempts) == ("failed", 6)


def test_an_email_another_worker_took_over_and_sent_counts_both_sends(world_a, hooked):  # noqa: F811
    """While our transport call ran, another worker re-claimed the row as stale and sent it: the
    outbox keeps that worker's record and counts both transport calls (two emails left)."""
    message = enqueue(world_a, key="both-sent")
    other_claim = timezone.now() + timedelta(seconds=5)

    def other_worker_sends_it():
        with scopes_disabled():
            OutboundMessage.objects.filter(pk=message.pk).update(
                status="sent", claimed_at=other_claim, sent_at=other_claim, attempts=1
            )

    hooked.append(other_worker_sends_it)
    messages_deliver_due()
    row = stored(message)
    assert (row.status, row.sent_at) == ("sent", other_claim)
    assert row.attempts == 2
    assert len(mail.outbox) == 1  # ours (the other worker is simulated, it sent nothing here)


def _notices(world, n):
    messages = [enqueue(world, key=f"notice-{i}", channel="inapp") for i in range(n)]
    messages_deliver_due()
    return messages


def test_reading_one_notice_marks_only_that_one_read(world_a):
    first, second, third = _notices(world_a, 3)
    owner = world_a.user("owner")
    with scope(agency=world_a.agency):
        assert message_mark_read(agency=world_a.agency, message_id=second.pk, user=owner) == 1
    assert [stored(m).read_at is not None for m in (first, second, third)] == [False, True, False]


def test_marking_all_read_marks_every_unread_notice_of_that_person_only(world_a):
    mine = _notices(world_a, 2)
    theirs = enqueue(world_a, key="legal-notice", channel="inapp", user_role="legal")
    messages_deliver_due()
    with scope(agency=world_a.agency):
        assert message_mark_read(agency=world_a.agency, message_id=None, user=world_a.user("owner")) == 2
    assert all(stored(m).read_at is not None for m in mine)
    assert stored(theirs).read_at is None


# --- The batch record (in-app messages, SMS, messages that could not be sent) ----------------------
# PostgreSQL records a batch with one UPDATE … FROM unnest(…); SQLite with the portable path
# (SELECT … FOR UPDATE, then an UPDATE per agency). On PostgreSQL both run, so a mistake in the
# portable one cannot hide behind the database the mutation run uses.


@pytest.fixture(params=["native", "portable"])
def recorder(request, monkeypatch):
    from django.db import connection

    from notifications.services import delivery

    if request.param == "portable":
        if connection.vendor != "postgresql":
            pytest.skip("on SQLite the native recorder is the portable one")
        monkeypatch.setattr(delivery, "_record_batch_pg", delivery._record_batch_portable)
    return request.param


def test_in_app_messages_of_two_agencies_in_one_batch_are_each_recorded_sent(world_a, world_b, recorder):
    ours = [enqueue(world_a, key=f"a-{i}", channel="inapp") for i in range(2)]
    theirs = enqueue(world_b, key="b-0", channel="inapp")
    totals = messages_deliver_due()
    assert totals["sent"] == 3
    for message in (*ours, theirs):
        row = stored(message)
        assert (row.status, row.attempts) == ("sent", 0)
        assert row.sent_at is not None and row.body  # the text a member reads in their notices
    assert stored(theirs).agency_id == world_b.agency.pk


def test_an_sms_taken_over_by_a_worker_whose_clock_runs_behind_keeps_that_workers_record(
        world_a, settings, _sms_locmem, recorder):
    """Workers run on several hosts: the one that took our row over (as stale) and sent it
    stamped its claim with a clock a few seconds behind ours. Its record stays; both sends count."""
    from .test_delivery_mutants import sms_during_send

    settings.SMS_QUIET_HOURS_START = settings.SMS_QUIET_HOURS_END = 0
    settings.SMS_BACKEND = "tests.notifications.test_delivery_mutants.HookSmsBackend"
    message = enqueue(world_a, key="skewed-sms", channel="sms", recipient_address="+8613800138000")
    behind = timezone.now() - timedelta(minutes=5)

    def other_worker_sends_it():
        with scopes_disabled():
            OutboundMessage.objects.filter(pk=message.pk).update(
                status="sent", claimed_at=behind, sent_at=behind, attempts=1, provider_message_id="theirs"
            )

    sms_during_send[:] = [other_worker_sends_it]
    messages_deliver_due()
    row = stored(message)
    assert (row.status, row.sent_at, row.provider_message_id, row.attempts) == ("sent", behind, "theirs", 2)
    assert len(_sms_locmem) == 1


# --- Second sample (after the merge of the SQLite writer lock) ---------------------------------------


def test_a_members_email_links_to_their_notification_settings_and_an_owners_does_not(world_a, settings):
    """A member chooses how they are told (the settings page); an account owner (an address only,
    no login) has no such page and gets no link."""
    settings.SITE_URL = "https://mcn.example.cn"
    enqueue(world_a, key="member-mail")
    with scope(agency=world_a.agency):
        from notifications.services.enqueue import message_enqueue

        message_enqueue(agency=world_a.agency, channel="email", kind="reminder", template_code="deadline_reminder",
                        idempotency_key="owner-mail", recipient_address="creator@example.cn", language="en",
                        params={"account": "小鹿", "platform": "抖音", "label": "Drafts kept until", "rule": "R2.1",
                                "days_before": 1, "due_date": "2030-01-02 10:00", "path": "/x/"})
    messages_deliver_due()
    link = f"https://mcn.example.cn/a/{world_a.agency.slug}/"
    by_address = {m.to[0]: m for m in mail.outbox}
    member = by_address[world_a.user("owner").email]
    assert link in member.body and "Choose which messages reach you" in member.body
    assert "Choose which messages reach you" not in by_address["creator@example.cn"].body


def test_one_sweep_goes_through_every_batch_when_batches_are_large(world_a):
    """With a batch of more than 256 messages (a busy agency's setting), the sweep still goes
    on to the next batch in the same run."""
    agency = world_a.agency
    user = world_a.user("owner")
    due = timezone.now() - timedelta(minutes=1)
    with scopes_disabled():
        OutboundMessage.objects.bulk_create([
            OutboundMessage(agency=agency, channel="inapp", kind="reminder", template_code="deadline_reminder",
                            params={"account": f"号{i}", "platform": "抖音", "label": "x", "rule": "R2.1",
                                    "days_before": 1, "due_date": "2030-01-02 10:00", "path": "/x/"},
                            recipient_user=user, send_after=due, idempotency_key=f"big-{i}")
            for i in range(601)
        ])
    totals = messages_deliver_due(batch_size=300, max_seconds=600)
    assert (totals["sent"], totals["batches"]) == (601, 3)


def test_an_in_app_notice_shows_its_rendered_title_and_text_unless_it_was_given_its_own(world_a):
    rendered = enqueue(world_a, key="rendered", channel="inapp")
    own = enqueue(world_a, key="own", channel="inapp", subject="机构通知：请补交材料", body="请在周五前上传授权书。")
    messages_deliver_due()
    row = stored(rendered)
    assert "Fan profile basic data available until" in row.body  # the text the inbox opens
    row = stored(own)
    assert (row.subject, row.body) == ("机构通知：请补交材料", "请在周五前上传授权书。")


@pytest.mark.parametrize("night", ["22:00", "23:59", "03:15", "07:59"])
def test_an_sms_planned_at_night_goes_at_eight_sharp_the_next_morning(settings, night):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from notifications.services.delivery import send_time_for

    settings.SMS_QUIET_HOURS_START, settings.SMS_QUIET_HOURS_END = 22, 8
    sh = ZoneInfo("Asia/Shanghai")
    hour, minute = map(int, night.split(":"))
    day = datetime(2026, 12, 3, tzinfo=sh)
    moment = day.replace(hour=hour, minute=minute, second=30)
    morning = (day if hour < 8 else day + timedelta(days=1)).replace(hour=8)
    assert send_time_for(channel="sms", moment=moment, tz=sh) == morning
    assert send_time_for(channel="sms", moment=morning, tz=sh) == morning  # 08:00 itself may go


# --- Round trips: only an email is recorded on its own ---------------------------------------------
def _sweep_queries(world, prefix: str, emails: int, others: int) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for i in range(emails):
        enqueue(world, key=f"{prefix}-e{i}", channel="email")
    for i in range(others):
        if i % 2:
            enqueue(world, key=f"{prefix}-o{i}", channel="inapp")
        else:
            enqueue(world, key=f"{prefix}-o{i}", channel="sms", recipient_address="+8613800138000")
    with CaptureQueriesContext(connection) as queries:
        totals = messages_deliver_due(batch_size=500)
    assert totals["sent"] == emails + others and totals["batches"] == 1, totals
    return len(queries.captured_queries)


def test_a_batch_costs_the_same_round_trips_however_many_sms_and_notices_it_holds_and_one_per_email(
        world_a, settings):
    settings.SMS_QUIET_HOURS_START = settings.SMS_QUIET_HOURS_END = 0  # every SMS due whatever the hour
    small = _sweep_queries(world_a, "small", emails=1, others=4)
    more_others = _sweep_queries(world_a, "others", emails=1, others=40)
    more_emails = _sweep_queries(world_a, "emails", emails=6, others=4)
    assert more_others == small  # SMS and in-app messages: claimed, loaded and recorded per batch
    assert more_emails == small + 5  # each email: its own record, right after its own transport call
    assert small <= 16
