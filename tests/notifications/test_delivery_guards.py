"""Delivery rules that once broke with every test green (issue 20: surviving mutants).

What a recipient would notice: the same email twice, a retry before its waiting time, a signing
link left readable in the outbox, a row another worker holds sent a second time.
"""

from datetime import timedelta

import psycopg
import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from notifications.models import OutboundMessage
from notifications.services.delivery import message_deliver, messages_deliver_due
from notifications.services.enqueue import message_enqueue
from tests.conftest import requires_postgres

LINK = "https://mcn.test/sign/Zk9rT0pSecret/"


def enqueue(world, key="k1", channel="email", **kw):
    with scope(agency=world.agency):
        return message_enqueue(
            agency=world.agency,
            channel=channel,
            kind="reminder",
            template_code="deadline_reminder",
            idempotency_key=key,
            recipient_user=world.user("owner"),
            language="en",
            params={
                "account": "小鹿",
                "platform": "抖音",
                "label": "Drafts",
                "rule": "R2.1",
                "days_before": 1,
                "due_date": "2030-01-02 10:00",
                "path": "/x/",
            },
            **kw,
        )[0]


def stored(message) -> OutboundMessage:
    with scopes_disabled():
        return OutboundMessage.objects.get(pk=message.pk)


@pytest.mark.django_db
def test_the_single_message_path_does_not_send_an_already_sent_message_again(world_a):
    message = enqueue(world_a)
    messages_deliver_due()
    assert len(mail.outbox) == 1
    # A late broker message for the same row (e.g. redelivered after a worker restart).
    with scope(agency=world_a.agency):
        assert message_deliver(agency=world_a.agency, message_id=message.pk) == "sent"
    assert len(mail.outbox) == 1
    assert stored(message).attempts == 1


@pytest.mark.django_db
def test_a_retry_waits_for_its_time_even_on_the_single_message_path(world_a):
    message = enqueue(world_a, send_after=timezone.now() + timedelta(minutes=5))
    with scope(agency=world_a.agency):
        assert message_deliver(agency=world_a.agency, message_id=message.pk) == "pending"
    assert mail.outbox == []
    assert messages_deliver_due()["sent"] == 0
    assert messages_deliver_due(now=timezone.now() + timedelta(minutes=6))["sent"] == 1
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_cancelled_message_is_not_sent_by_a_late_broker_message(world_a):
    message = enqueue(world_a)
    with scopes_disabled():
        OutboundMessage.objects.filter(pk=message.pk).update(status=OutboundMessage.Status.CANCELLED)
    with scope(agency=world_a.agency):
        assert message_deliver(agency=world_a.agency, message_id=message.pk) == "cancelled"
    assert mail.outbox == []


@pytest.mark.django_db
def test_an_in_app_signing_link_is_not_kept_readable_once_delivered(world_a):
    with scope(agency=world_a.agency):
        message, _ = message_enqueue(
            agency=world_a.agency,
            channel="inapp",
            kind="signing_link",
            template_code="signing_link",
            idempotency_key="signing_link:1:1:inapp",
            recipient_user=world_a.user("owner"),
            language="en",
            params={"owner_name": "王", "agency": "A", "account": "小鹿", "expires_at": "2030-01-02"},
            secrets={"link": LINK},
        )
    assert messages_deliver_due()["sent"] == 1
    row = stored(message)
    assert row.status == "sent"
    assert row.sealed == ""
    kept = row.subject + row.body + str(row.params) + row.last_error
    assert "Zk9rT0pSecret" not in kept


@pytest.mark.django_db
def test_a_signing_link_by_email_leaves_no_secret_in_the_outbox_row(world_a):
    with scope(agency=world_a.agency):
        message, _ = message_enqueue(
            agency=world_a.agency,
            channel="email",
            kind="signing_link",
            template_code="signing_link",
            idempotency_key="signing_link:1:1:email",
            recipient_address="owner@creator.test",
            language="en",
            params={"owner_name": "王", "agency": "A", "account": "小鹿", "expires_at": "2030-01-02"},
            secrets={"link": LINK},
        )
    messages_deliver_due()
    assert LINK in mail.outbox[0].body  # the recipient gets it…
    row = stored(message)
    assert row.sealed == ""  # …the outbox does not keep it
    assert "Zk9rT0pSecret" not in row.subject + row.body + str(row.params)


# --- Row locks: a row another worker holds is skipped, never sent twice (PostgreSQL) -----------


def _other_worker_locks(message_ids):
    """A second database connection (another worker) holding row locks on the messages."""
    s = connection.settings_dict
    other = psycopg.connect(
        dbname=s["NAME"],
        user=s["USER"],
        password=s["PASSWORD"] or None,
        host=s["HOST"] or None,
        port=s["PORT"] or None,
        autocommit=False,
    )
    table = OutboundMessage._meta.db_table
    other.execute(f"SELECT id FROM {table} WHERE id = ANY(%s) FOR UPDATE", [list(message_ids)])  # noqa: S608
    return other


@pytest.fixture
def lock_timeout():
    """Waiting on a lock fails after a second instead of hanging the test (a missing skip_locked)."""
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '1s'")
    yield
    with connection.cursor() as cursor:
        cursor.execute("RESET lock_timeout")


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_the_sweep_skips_a_row_another_worker_holds_and_sends_the_rest(world_a, lock_timeout):
    held = enqueue(world_a, key="held")
    free = enqueue(world_a, key="free")
    other = _other_worker_locks([held.pk])
    try:
        result = messages_deliver_due()
        assert result["sent"] == 1
        assert [m.extra_headers["X-Idempotency-Key"] for m in mail.outbox] == ["free"]
        assert stored(held).status == "pending" and stored(held).attempts == 0
    finally:
        other.rollback()
        other.close()
    assert stored(free).status == "sent"
    assert messages_deliver_due()["sent"] == 1  # released: sent now, once
    assert sorted(m.extra_headers["X-Idempotency-Key"] for m in mail.outbox) == ["free", "held"]


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_the_single_message_path_skips_a_row_another_worker_holds(world_a, lock_timeout):
    message = enqueue(world_a)
    other = _other_worker_locks([message.pk])
    try:
        with scope(agency=world_a.agency):
            assert message_deliver(agency=world_a.agency, message_id=message.pk) == "pending"
        assert mail.outbox == []
    finally:
        other.rollback()
        other.close()
    with scope(agency=world_a.agency):
        assert message_deliver(agency=world_a.agency, message_id=message.pk) == "sent"
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_the_sweep_counts_what_it_did(world_a, settings):
    settings.SMS_QUIET_HOURS_START = settings.SMS_QUIET_HOURS_END = 0
    enqueue(world_a, key="ok")
    assert messages_deliver_due() == {"sent": 1, "failed": 0, "retry": 0, "postponed": 0, "batches": 1}
    enqueue(world_a, key="no-mobile", channel="sms")  # the owner user has no mobile
    assert messages_deliver_due() == {"sent": 0, "failed": 1, "retry": 0, "postponed": 0, "batches": 1}


@pytest.mark.django_db
def test_an_sms_sent_counts_one_attempt(world_a, settings, _sms_locmem):
    settings.SMS_QUIET_HOURS_START = settings.SMS_QUIET_HOURS_END = 0
    message = enqueue(world_a, key="sms-1", channel="sms", recipient_address="+8613800138013")
    assert messages_deliver_due()["sent"] == 1
    assert len(_sms_locmem) == 1
    row = stored(message)
    assert (row.status, row.attempts) == ("sent", 1)


def test_quiet_hours_inside_one_day(settings):
    """A window that does not cross midnight (01:00–06:00): only those hours are quiet."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from notifications.services.delivery import in_quiet_hours

    settings.SMS_QUIET_HOURS_START, settings.SMS_QUIET_HOURS_END = 1, 6
    sh = ZoneInfo("Asia/Shanghai")
    at = {h: datetime(2030, 1, 2, h, 30, tzinfo=sh) for h in (0, 1, 5, 6, 12, 23)}
    assert [h for h, moment in at.items() if in_quiet_hours(moment, sh)] == [1, 5]
