"""Delivery of stored messages: claim, commit, send, record.

Two roads lead here and both are safe together:
- right after the enqueueing transaction commits, a Celery task `deliver(agency_id,
  message_id)` (fast path);
- every minute the beat sweep claims due rows with select_for_update(skip_locked=True)
  (the road that makes a lost broker message, a dead worker or a stopped Redis harmless).

Each message goes through four steps, so that a worker killed at any point re-sends at
most what was inside a transport call:
1. claim: under a row lock (skip_locked), the row turns `sending` (claimed_at = now) and
   that is COMMITTED before anything leaves the building — no other worker takes it;
2. send: the transport is called outside any transaction, one email per call (an SMS
   batch per call to the SMS provider);
3. record: in a short transaction of its own, the row becomes sent (or pending again with
   a back-off, or failed); `attempts` counts transport calls, i.e. real sends;
4. a row left `sending` by a worker that died (claimed longer ago than
   NOTIFY_SENDING_TIMEOUT_SECONDS) is claimed again by the sweep: it was maybe sent, so it
   is sent again with the same idempotency key (SMS providers that honour it drop the copy;
   email has no such key, so that one email may arrive twice).
See the README ("What is guaranteed for email and SMS").
"""

import logging
import os
import re
import threading
import time as time_module
from contextlib import contextmanager
from datetime import datetime, timedelta
from email.utils import formataddr, make_msgid, parseaddr
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers
from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django_scopes import scopes_disabled

from accounts.models import User
from agency.bulksql import db_value, prepared_cursor, update_values
from agency.celery_base import task_publish
from agency.exceptions import Conflict
from agency.models import Agency
from notifications.models import Channel, OutboundMessage
from notifications.robots import robot_deliver
from notifications.secrets import unseal
from notifications.signals import message_sent
from notifications.sms import SmsMessage, get_sms_backend
from notifications.sms.config import DEFAULT_MAX_LENGTH, TemplateConfigError, backend_provider, template_for
from notifications.sms.templates import SMS_TEMPLATES, render_wording, sms_variables

logger = logging.getLogger(__name__)
Status = OutboundMessage.Status


# --- Quiet hours (no SMS at night, local time) ----------------------------------------------
def in_quiet_hours(moment: datetime, tz) -> bool:
    hour = moment.astimezone(tz).hour
    start, end = settings.SMS_QUIET_HOURS_START, settings.SMS_QUIET_HOURS_END
    if start == end:
        return False
    return (hour >= start or hour < end) if start > end else (start <= hour < end)


def quiet_hours_end(moment: datetime, tz) -> datetime:
    """The first moment at or after `moment` when an SMS may go out."""
    if not in_quiet_hours(moment, tz):
        return moment
    local = moment.astimezone(tz)
    morning = local.replace(hour=settings.SMS_QUIET_HOURS_END, minute=0, second=0, microsecond=0)
    if morning <= local:
        morning = (local + timedelta(days=1)).replace(hour=settings.SMS_QUIET_HOURS_END, minute=0, second=0,
                                                      microsecond=0)
    # Re-attach the zone after the date arithmetic (DST-safe for zones that have it).
    return datetime.combine(morning.date(), morning.timetz().replace(tzinfo=None), tzinfo=tz)


def send_time_for(*, channel: str, moment: datetime, tz, transactional: bool = False) -> datetime:
    """Quiet hours hold back SMS, except transactional ones (a code asked for now is needed now)."""
    return quiet_hours_end(moment, tz) if channel == Channel.SMS and not transactional else moment


# --- Rendering ----------------------------------------------------------------------------------
def _render(name: str, context: dict) -> str:
    return render_to_string(name, context).strip()


def render_message(message: OutboundMessage) -> tuple[str, str]:
    """(subject, text) in the message's language; a stored body/subject wins over templates."""
    context = dict(message.params or {})
    context.setdefault("site_url", settings.SITE_URL)
    context.update(unseal(message.sealed))  # the one place a sealed secret is read: for the transport
    # No request in a worker: the agency's zone is set here for any time a template shows.
    with translation.override(message.language or settings.LANGUAGE_CODE), timezone.override(message.agency.tz):
        body = message.body
        if not body:
            body = _render(f"notifications/{message.template_code}.txt", context)
        subject = message.subject
        if not subject and message.channel == Channel.EMAIL:
            try:
                subject = _render(f"notifications/{message.template_code}.subject.txt", context)
            except TemplateDoesNotExist:
                subject = body.splitlines()[0][:120] if body else message.kind
        return " ".join(subject.split()), body


def _address(message: OutboundMessage) -> str:
    if message.recipient_address:
        return message.recipient_address
    user = message.recipient_user
    if user is None:
        return ""
    return user.email if message.channel == Channel.EMAIL else (user.mobile if message.channel == Channel.SMS else "")


def retry_delay(attempts: int) -> timedelta:
    seconds = settings.NOTIFY_RETRY_BASE_SECONDS * (2 ** max(attempts - 1, 0))
    return timedelta(seconds=min(seconds, settings.NOTIFY_RETRY_MAX_SECONDS))


# --- The batch sender -----------------------------------------------------------------------------
def _scrub(message: OutboundMessage, error: str) -> str:
    """A provider's error may echo what it was given: never store a sealed secret through it."""
    for value in unseal(message.sealed).values():
        value = str(value)
        if value:
            error = error.replace(value, "[redacted]")
            if "/sign/" in value:
                error = error.replace(value.rsplit("/sign/", 1)[1].strip("/"), "[redacted]")
    return error


def _fail(message: OutboundMessage, error: str, now: datetime, *, permanent: bool = False) -> None:
    message.last_error = _scrub(message, error)[:2000]
    if permanent or message.attempts >= settings.NOTIFY_MAX_ATTEMPTS:
        message.status = Status.FAILED
        message.sealed = ""  # a one-time secret that could not be delivered is dropped, not kept
    else:
        message.status = Status.PENDING
        message.send_after = now + retry_delay(message.attempts)


def _succeed(message: OutboundMessage, now: datetime, provider_id: str = "") -> None:
    message.sealed = ""  # sent: the one-time secret is dropped (notifications.secrets)
    message.status = Status.SENT
    message.sent_at = now
    message.last_error = ""
    message.provider_message_id = (provider_id or "")[:200]


def _sending_timeout() -> timedelta:
    return timedelta(seconds=settings.NOTIFY_SENDING_TIMEOUT_SECONDS)


def _attach_related(rows: list[OutboundMessage], agencies: dict | None = None) -> None:
    """Each row's agency and recipient, loaded once per batch (one query each) and shared by the
    rows: a batch of one agency's reminders builds one Agency and one User, not one per row."""
    if agencies is None:
        agencies = Agency.objects.in_bulk({m.agency_id for m in rows})
    users = User.objects.in_bulk({m.recipient_user_id for m in rows if m.recipient_user_id})
    for message in rows:  # what `message.agency = …` caches, without the descriptor's checks
        cache = message._state.fields_cache
        cache["agency"] = agencies[message.agency_id]
        if message.recipient_user_id:
            cache["recipient_user"] = users.get(message.recipient_user_id)


_writer = threading.local()


@contextmanager
def _one_writer():
    """SQLite lets one connection write at a time, and a writer that finds the database locked
    polls: the busy handler sleeps 1, 2, 5, 10 … 100 ms between tries, so a worker whose short
    write (0.3 ms) meets the other worker's claim sleeps far longer than that claim lasts. On
    SQLite, each write of this module (claim, record, batch record) first queues for an exclusive
    flock on a file next to the database and is woken as soon as the other worker's write ends
    (other writers, e.g. web requests, still meet the busy handler). Inside an outer transaction
    the SQLite write lock is held already (IMMEDIATE mode), so nothing is queued for. PostgreSQL
    (row locks, SKIP LOCKED) needs none of it."""
    path = _writer_lock_path()
    if path is None or getattr(_writer, "held", None) == os.getpid() or connection.in_atomic_block:
        yield
        return
    import fcntl  # noqa: PLC0415 - POSIX only, and only SQLite gets here

    fd = _writer_fd(path)
    fcntl.flock(fd, fcntl.LOCK_EX)
    _writer.held = os.getpid()  # a process forked meanwhile holds nothing
    try:
        yield
    finally:
        _writer.held = None
        fcntl.flock(fd, fcntl.LOCK_UN)


def _writer_fd(path: str) -> int:
    """This thread's descriptor of the lock file, opened once (not twice per email). Kept per
    process id as well: a flock belongs to the open file, which a forked child (a prefork worker)
    would share with its parent, so a child opens its own."""
    key = (os.getpid(), path)
    if getattr(_writer, "fd_key", None) != key:
        _writer.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        _writer.fd_key = key
    return _writer.fd


def _writer_lock_path() -> str | None:
    if connection.vendor != "sqlite":
        return None
    name = str(connection.settings_dict["NAME"])
    if not name or name == ":memory:" or name.startswith("file:") or "mode=memory" in name:
        return None
    return f"{name}-writer.lock"


@contextmanager
def _checkpoints_between_batches():
    """SQLite in WAL mode copies its log back into the database file (a checkpoint: every page
    written since the last one, and two fsyncs) from inside whichever commit takes the log past
    1,000 pages: in the sweep, one email's record in 200 would carry it, in the writer's turn, while
    another worker waits. In the sweep no commit checkpoints; the sweep does after each batch,
    outside the writer's turn and without waiting for readers or writers (PASSIVE), and puts the
    connection's own setting back when it ends (other connections keep checkpointing as before).
    Yields the function to call between batches; on PostgreSQL, or inside a transaction, a no-op."""
    if _writer_lock_path() is None or connection.in_atomic_block:
        yield lambda: None
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint")
        (pages,) = cursor.fetchone()
        cursor.execute("PRAGMA wal_autocheckpoint = 0")

    def checkpoint() -> None:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")

    try:
        yield checkpoint
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA wal_autocheckpoint = {int(pages)}")


_STOPPED = "The worker sending this message stopped; it is sent again."


def _claim(queryset, now: datetime, limit: int) -> tuple[list[OutboundMessage], int]:
    """Step 1: lock due rows (skip those another worker holds), turn them `sending`, COMMIT.
    Returns (claimed rows, how many SMS were postponed to the end of quiet hours).
    Per batch, in the claiming transaction: one SELECT … FOR UPDATE SKIP LOCKED of what the claim
    decides on (id, status, channel, transactional, agency), one SELECT of the batch's agencies,
    one UPDATE for the claimed rows (plus one per distinct morning for postponed SMS and one for
    rows taken over from a dead worker). After the commit, one SELECT of the claimed rows and one
    of their recipients: the transaction (on SQLite, the one writer's turn) lasts no longer than
    the claim itself, and a row committed as `sending` is this worker's until the sending timeout."""
    if connection.vendor == "sqlite" and not connection.in_atomic_block and not queryset.exists():
        return [], 0  # nothing to claim: no write transaction (on SQLite, one writer at a time)
    with _one_writer(), transaction.atomic():
        heads = list(queryset.select_for_update(skip_locked=True, of=("self",)).order_by("send_after")
                     .values_list("pk", "status", "channel", "transactional", "agency_id")[:limit])
        if not heads:
            return [], 0
        agencies = Agency.objects.in_bulk({agency_id for *_rest, agency_id in heads})
        claimed_ids, stale_ids = [], []
        mornings: dict[datetime, list[int]] = {}
        for pk, status, channel, transactional, agency_id in heads:
            if status == Status.SENDING:  # left by a worker that died mid-send
                stale_ids.append(pk)
            tz = agencies[agency_id].tz
            if channel == Channel.SMS and not transactional and in_quiet_hours(now, tz):
                mornings.setdefault(quiet_hours_end(now, tz), []).append(pk)
                continue
            claimed_ids.append(pk)
        by_pk = OutboundMessage.objects.filter
        if stale_ids:
            by_pk(pk__in=stale_ids).update(last_error=_STOPPED)
        if claimed_ids:
            by_pk(pk__in=claimed_ids).update(status=Status.SENDING, claimed_at=now)
        for morning, ids in mornings.items():
            by_pk(pk__in=ids).update(status=Status.PENDING, send_after=morning)
    postponed = sum(len(ids) for ids in mornings.values())
    if not claimed_ids:
        return [], postponed
    with scopes_disabled():  # the ids come from the caller's (scoped) queryset
        loaded = OutboundMessage.objects.in_bulk(claimed_ids)
    claimed = [loaded[pk] for pk in claimed_ids if pk in loaded]
    for message in claimed:  # as committed above (the database's copy of `now` may be rounded)
        message.status, message.claimed_at = Status.SENDING, now
    _attach_related(claimed, agencies)
    return claimed, postponed


# What delivery changes on a claimed row (claimed_at and params are not changed after the claim).
RECORDED_FIELDS = ["status", "attempts", "sent_at", "send_after", "last_error", "provider_message_id",
                   "subject", "body", "sealed"]
# An email or a robot message: its subject and body stay as stored; an email gets its Message-ID.
_VALUE_FIELDS = ["status", "sent_at", "send_after", "last_error", "provider_message_id", "sealed",
                 "email_message_id"]


def _record(message: OutboundMessage, claimed_at: datetime, *, sent: bool) -> str:
    """Step 3 for one message (email: its outcome is stored before the next email leaves), in one
    UPDATE that is its own transaction (autocommit: one round trip to the database): `attempts`
    counts transport calls; a row another worker took over as stale and already recorded as sent
    keeps that record (only our send is counted). On PostgreSQL, `_single_records` lets these
    commits skip the wait for the WAL flush."""
    fields = _value_fields()
    quote = connection.ops.quote_name
    table = quote(OutboundMessage._meta.db_table)
    sets = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    claimed = OutboundMessage._meta.get_field("claimed_at")
    # One precompiled statement (no ORM compilation per email); its values are prepared before
    # the writer's turn (on SQLite, the other worker waits only for the statement itself).
    params = [*(db_value(f, getattr(message, f.attname)) for f in fields), 1 if sent else 0, message.pk,
              db_value(claimed, claimed_at), str(Status.SENT)]
    with _one_writer(), prepared_cursor() as cursor:  # PostgreSQL: parsed and planned once per connection
        cursor.execute(
            f"UPDATE {table} SET {sets}, attempts = attempts + %s WHERE id = %s "  # noqa: S608 - our own names
            f"AND (claimed_at = %s OR status <> %s)", params)
        if cursor.rowcount:
            return message.status
    rows = OutboundMessage.objects.filter(pk=message.pk)
    if sent:  # taken over and sent by another worker: count our send only
        rows.update(attempts=F("attempts") + 1)
    return rows.values_list("status", flat=True).first() or "gone"


@contextmanager
def _single_records(batch: list[OutboundMessage]):
    """Around the per-message records of a batch (emails, robots). On PostgreSQL, outside a
    transaction, their commits become visible to every other worker at once without waiting for
    the WAL flush (synchronous_commit off for these statements only): a killed worker loses
    nothing; only a crash of the database server itself within a fraction of a second could forget
    a record (that email would then go out again). Claims and batch records keep the default."""
    if (connection.vendor != "postgresql" or connection.in_atomic_block
            or not any(m.channel in (Channel.EMAIL, Channel.ROBOT) for m in batch)):
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")
        except DatabaseError:  # the connection is gone: nothing to reset
            logger.warning("could not reset synchronous_commit", exc_info=True)


def _value_fields() -> list:
    return [OutboundMessage._meta.get_field(name) for name in _VALUE_FIELDS]


def _record_batch(outcomes: list[tuple[OutboundMessage, datetime, bool]]) -> list[str]:
    """Step 3 for a batch (in-app, SMS, messages that could not be sent), in one short
    transaction: one SELECT … FOR UPDATE of the rows, one UPDATE … FROM (VALUES …) (on SQLite an
    executemany); on PostgreSQL one statement (_record_batch_pg)."""
    if not outcomes:
        return []
    if connection.vendor == "postgresql":
        return _record_batch_pg(outcomes)
    return _record_batch_portable(outcomes)


def _record_batch_portable(outcomes: list[tuple[OutboundMessage, datetime, bool]]) -> list[str]:
    """_record_batch on any database (SQLite's path; the tests run it on PostgreSQL too)."""
    fields = [OutboundMessage._meta.get_field(name) for name in RECORDED_FIELDS]
    at = RECORDED_FIELDS.index("attempts")  # the one value known only once the row is read (locked)
    prepared = {message.pk: [db_value(f, getattr(message, f.attname)) for f in fields]
                for message, _c, _s in outcomes}  # before the writer's turn (see _record)
    statuses = []
    with _one_writer(), transaction.atomic():
        current = {pk: (attempts, claimed, status) for pk, attempts, claimed, status in
                   OutboundMessage.objects.select_for_update().filter(pk__in=[m.pk for m, _c, _s in outcomes])
                   .values_list("pk", "attempts", "claimed_at", "status")}
        rows, taken_over = [], []
        for message, claimed_at, sent in outcomes:
            found = current.get(message.pk)
            if found is None:
                statuses.append("gone")
                continue
            attempts, claimed, status = found
            if claimed != claimed_at and status == Status.SENT:
                # Another worker took the row over as stale and sent it as well: count our send only.
                if sent:
                    taken_over.append((message.pk, attempts + 1))
                statuses.append(status)
                continue
            message.attempts = attempts + (1 if sent else 0)
            values = prepared[message.pk]
            values[at] = message.attempts
            rows.append((message.pk, *values))
            statuses.append(message.status)
        agency_ids = {m.agency_id for m, _c, _s in outcomes}
        for agency_id in agency_ids:  # the bulk helper bounds every UPDATE to one agency
            mine = {m.pk for m, _c, _s in outcomes if m.agency_id == agency_id}
            update_values(model=OutboundMessage, names=RECORDED_FIELDS, agency_id=agency_id, prepared=True,
                          rows=[r for r in rows if r[0] in mine])
            update_values(model=OutboundMessage, names=["attempts"], agency_id=agency_id,
                          rows=[r for r in taken_over if r[0] in mine])
    return statuses


def _record_batch_pg(outcomes: list[tuple[OutboundMessage, datetime, bool]]) -> list[str]:
    """_record_batch on PostgreSQL: one UPDATE … FROM unnest(arrays) for the whole batch (a short
    statement whatever the batch size, so parsed once), with the same condition as `_record`;
    the rare row taken over and sent by another worker (or deleted) is then dealt with alone."""
    meta = OutboundMessage._meta
    fields = [meta.get_field(name) for name in RECORDED_FIELDS if name != "attempts"]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    columns: list[list] = [[] for _f in fields]
    ids, agencies, claims, sends = [], [], [], []
    for message, claimed_at, sent in outcomes:
        ids.append(message.pk)
        agencies.append(message.agency_id)
        claims.append(claimed_at)
        sends.append(1 if sent else 0)
        for column, field in zip(columns, fields, strict=True):
            column.append(db_value(field, getattr(message, field.attname)))
    names = ", ".join(f"c{i}" for i in range(len(fields)))
    arrays = ", ".join(f"%s::{f.cast_db_type(connection)}[]" for f in fields)
    sets = ", ".join(f"{quote(f.column)} = v.c{i}" for i, f in enumerate(fields))
    sql = (f"UPDATE {table} AS t SET {sets}, attempts = t.attempts + v.sent "  # noqa: S608 - our own names
           f"FROM unnest(%s::bigint[], %s::bigint[], %s::timestamptz[], %s::integer[], {arrays}) "
           f"AS v(id, agency_id, claimed, sent, {names}) "
           f"WHERE t.id = v.id AND t.agency_id = v.agency_id AND (t.claimed_at = v.claimed OR t.status <> %s) "
           f"RETURNING t.id, t.attempts")
    with connection.cursor() as cursor:
        cursor.execute(sql, [ids, agencies, claims, sends, *columns, str(Status.SENT)])
        recorded = dict(cursor.fetchall())
    statuses = []
    for message, _claimed_at, sent in outcomes:
        if message.pk in recorded:
            message.attempts = recorded[message.pk]
            statuses.append(message.status)
            continue
        rows = OutboundMessage.objects.filter(pk=message.pk)
        if sent:  # taken over and sent by another worker: count our send only
            rows.update(attempts=F("attempts") + 1)
        statuses.append(rows.values_list("status", flat=True).first() or "gone")
    return statuses


def site_domain() -> str:
    """The host of settings.SITE_URL: the right-hand side of every Message-ID we make."""
    return (urlsplit(settings.SITE_URL).hostname or "localhost").lower()


def new_message_id() -> str:
    """A globally unique Message-ID (email.utils.make_msgid: time, process and 64 random bits,
    at our own domain): another deployment or a reset database never reissues one."""
    return make_msgid(domain=site_domain())


def settings_url(message: OutboundMessage) -> str:
    """Where the recipient chooses how they are told (members only: an owner has no login)."""
    if not message.recipient_user_id:
        return ""
    return settings.SITE_URL.rstrip("/") + reverse("notifications:preferences",
                                                   kwargs={"agency_slug": message.agency.slug})


def _from_address(message: OutboundMessage) -> str:
    """The agency's name as the sender's name, on the site's own address."""
    name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return formataddr((message.agency.name or name, address or settings.DEFAULT_FROM_EMAIL))


_URL = re.compile(r"https?://[^\s<>\"'，。；：、）」』]+")


def html_text(text: str) -> str:
    """Plain text as HTML paragraphs with its addresses as links (also right after Chinese
    punctuation, where Django's urlize sees none)."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", text.strip()):
        escaped = escape(block)
        linked = _URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)
        paragraphs.append("<p>" + linked.replace("\n", "<br>") + "</p>")
    return mark_safe("\n".join(paragraphs))  # noqa: S308 - built from escaped text only


def _email_for(message: OutboundMessage, subject: str, text: str, address: str,
               cache: dict | None = None) -> EmailMultiAlternatives:
    """A plain-text part and its HTML alternative, in the message's language, signed with the
    agency's name; links absolute from SITE_URL now (the templates' `absolute` filter); the
    Message-ID stored on the row, so a retry sends the same one. `cache` (one batch's): the
    settings page and sender of each agency, worked out once."""
    if not message.email_message_id:
        message.email_message_id = new_message_id()
    cache = {} if cache is None else cache
    key = (message.agency_id, bool(message.recipient_user_id))
    if key not in cache:
        cache[key] = (settings_url(message), _from_address(message))
    page, sender = cache[key]
    context = {"agency": message.agency.name, "subject": subject, "text": text, "html_text": html_text(text),
               "settings_url": page, "kind": message.kind}
    with translation.override(message.language or settings.LANGUAGE_CODE):
        body = render_to_string("notifications/email/message.txt", context).strip() + "\n"
        html = render_to_string("notifications/email/message.html", context)
    email = EmailMultiAlternatives(subject=subject, body=body, from_email=sender, to=[address],
                                   headers={"X-Idempotency-Key": message.idempotency_key,
                                            "Message-ID": message.email_message_id})
    email.attach_alternative(html, "text/html")
    return email


def _sms_for(message: OutboundMessage, address: str, provider: str) -> SmsMessage:
    """The SMS of one row: its kind's template variables (notifications.sms.templates), made
    from the row now, each within the provider template's limit. TemplateConfigError/KeyError
    when the kind has no SMS template."""
    if message.kind not in SMS_TEMPLATES:
        raise TemplateConfigError(f"Messages of kind {message.kind!r} have no SMS template.")
    limit = template_for(message.kind, provider).max_length if provider else DEFAULT_MAX_LENGTH
    values = sms_variables(kind=message.kind, params=message.params or {}, secrets=unseal(message.sealed),
                           agency=message.agency, limit=limit)
    return SmsMessage(to=address, kind=message.kind, variables=values, text=render_wording(message.kind, values),
                      idempotency_key=message.idempotency_key)


def _deliver_claimed(batch: list[OutboundMessage], now: datetime) -> dict:
    """Steps 2 and 3 for rows this worker claimed (committed as `sending`). Returns counts by outcome.

    Only the transport call is per message: SMS go to the provider in one call and are recorded
    together with the in-app messages and those that could not be sent, in one batch; an email's
    outcome is stored (one UPDATE) right after its own transport call, so a worker killed mid-batch
    sends at most that one email twice."""
    counts = {"sent": 0, "failed": 0, "retry": 0, "postponed": 0}

    delivered: list[OutboundMessage] = []  # told to `message_sent` receivers (e.g. a code's expiry)

    def count(message: OutboundMessage, status: str) -> None:
        counts[{Status.SENT: "sent", Status.FAILED: "failed"}.get(status, "retry")] += 1
        if status == Status.SENT and message.status == Status.SENT:
            delivered.append(message)

    later: list[tuple[OutboundMessage, datetime, bool]] = []  # recorded together at the end
    sms = []
    provider = None  # whose SMS templates apply (looked up at the first SMS)
    cache: dict = {}  # per batch: what every message of an agency shares (its settings page, sender)
    with _single_records(batch):
        for message in batch:
            claimed_at = message.claimed_at
            if message.channel == Channel.ROBOT:  # group robots: one webhook call each (notifications/robots.py)
                message.attempts += 1
                outcome = robot_deliver(message)
                if outcome.ok:
                    _succeed(message, now, outcome.provider_id)
                else:
                    _fail(message, outcome.error, now, permanent=outcome.permanent)
                count(message, _record(message, claimed_at, sent=True))
                continue
            address = _address(message)
            if message.channel != Channel.INAPP and not address:
                _fail(message, "The recipient has no address for this channel.", now, permanent=True)
                later.append((message, claimed_at, False))
                continue
            if message.channel == Channel.SMS:  # its text is the SMS template's wording (_sms_for), not rendered here
                if provider is None:
                    provider = backend_provider()
                try:
                    sms.append((message, claimed_at, _sms_for(message, address, provider)))
                except TemplateConfigError as exc:
                    _fail(message, f"sms: {exc}", now, permanent=True)  # never sent under another template
                    later.append((message, claimed_at, False))
                continue
            try:
                subject, text = render_message(message)
            except Exception as exc:  # noqa: BLE001 - a broken template must not stop the batch
                logger.exception("rendering message %s failed", message.pk)
                _fail(message, f"render: {exc}", now, permanent=True)  # an operator retries it once fixed
                later.append((message, claimed_at, False))
                continue
            if message.channel == Channel.INAPP:
                if not message.sealed:  # an in-app text that carried a secret is not kept
                    message.subject, message.body = message.subject or subject, message.body or text
                _succeed(message, now)
                later.append((message, claimed_at, False))
            else:
                email = _email_for(message, subject, text, address, cache=cache)
                message.attempts += 1  # for _fail's limit; _record stores the database's count + 1
                try:
                    mailers.default.send_messages([email])  # one email per transport call
                except Exception as exc:  # noqa: BLE001 - SMTP and backend errors become retries
                    _fail(message, f"email: {exc}", now)
                else:
                    _succeed(message, now, message.email_message_id)
                count(message, _record(message, claimed_at, sent=True))
    if sms:
        for message, _claimed, _sms in sms:
            message.attempts += 1
        try:
            results = get_sms_backend().send([m for _, _, m in sms])
        except Exception as exc:  # noqa: BLE001
            results = None
            for message, _claimed, _sms in sms:
                _fail(message, f"sms: {exc}", now)
        if results is not None:
            for (message, _claimed, _sms), result in zip(sms, results, strict=True):
                if result.ok:
                    _succeed(message, now, result.provider_message_id)
                else:
                    _fail(message, result.error or "sms: rejected", now, permanent=result.permanent)
        later += [(message, claimed_at, True) for message, claimed_at, _sms in sms]
    for (message, _claimed, _sent), status in zip(later, _record_batch(later), strict=True):
        count(message, status)
    if delivered:
        message_sent.send(sender=OutboundMessage, messages=delivered)
    return counts


# --- Use cases ------------------------------------------------------------------------------------
def message_deliver(*, agency, message_id: int) -> str:
    """Deliver one message if it is still pending and due (the after-commit fast path)."""
    now = timezone.now()
    due = OutboundMessage.objects.filter(agency=agency, pk=message_id, status=Status.PENDING, send_after__lte=now)
    claimed, postponed = _claim(due, now, 1)
    if claimed:
        _deliver_claimed(claimed, now)
    current = OutboundMessage.objects.filter(agency=agency, pk=message_id).values_list("status", flat=True).first()
    return current or "locked-or-missing"


def messages_deliver_due(*, now: datetime | None = None, batch_size: int | None = None,
                         max_seconds: float | None = None) -> dict:
    """The sweep: claim due rows of every agency in batches (and rows left `sending` by a dead
    worker), deliver them. Platform-level work."""
    batch_size = batch_size or settings.NOTIFY_SWEEP_BATCH
    max_seconds = settings.NOTIFY_SWEEP_MAX_SECONDS if max_seconds is None else max_seconds
    started = time_module.monotonic()
    totals = {"sent": 0, "failed": 0, "retry": 0, "postponed": 0, "batches": 0}
    with scopes_disabled(), _checkpoints_between_batches() as checkpoint:
        while True:
            moment = now or timezone.now()
            # Rows left `sending` by a dead worker first (rare; their own partial index), then due rows
            # oldest first, through the partial index in send_after order: each query reads only the
            # rows it claims (an OR of both read and sorted every due row again for every batch).
            stale = OutboundMessage.objects.filter(status=Status.SENDING, claimed_at__lt=moment - _sending_timeout())
            claimed, postponed = _claim(stale, moment, batch_size)
            more = True  # after stale rows, look again (for more of them, then for due rows)
            if not claimed and not postponed:
                due = OutboundMessage.objects.filter(status=Status.PENDING, send_after__lte=moment)
                claimed, postponed = _claim(due, moment, batch_size)
                more = len(claimed) + postponed >= batch_size
            totals["postponed"] += postponed
            if not claimed and not postponed:
                break
            counts = _deliver_claimed(claimed, moment)
            checkpoint()
            totals["batches"] += 1
            for key, value in counts.items():
                totals[key] += value
            if not more or time_module.monotonic() - started > max_seconds:
                break
    return totals


def message_retry(*, agency, message: OutboundMessage, user=None) -> OutboundMessage:
    """A failed message goes back to the queue (same idempotency key: still at most once)."""
    with transaction.atomic():
        locked = OutboundMessage.objects.select_for_update().get(agency=agency, pk=message.pk)
        if locked.status != Status.FAILED:
            raise Conflict(translation.gettext("Only failed messages can be retried; this one is %(status)s.")
                           % {"status": locked.get_status_display()})
        if locked.carries_secret:
            raise Conflict(translation.gettext("This message carried a one-time link or code, which is not kept "
                                               "once it fails. Send the owner a new link instead."))
        locked.status = Status.PENDING
        locked.attempts = 0
        locked.send_after = timezone.now()
        locked.save(update_fields=["status", "attempts", "send_after"])
        transaction.on_commit(lambda: publish_delivery(agency_id=agency.pk, message_id=locked.pk))
    return locked


def message_cancel(*, agency, message: OutboundMessage, user=None) -> OutboundMessage:
    with transaction.atomic():
        locked = OutboundMessage.objects.select_for_update().get(agency=agency, pk=message.pk)
        if locked.status not in (Status.PENDING, Status.FAILED):
            raise Conflict(translation.gettext("Only pending or failed messages can be cancelled."))
        locked.status = Status.CANCELLED
        locked.sealed = ""
        locked.save(update_fields=["status", "sealed"])
    return locked


def message_mark_read(*, agency, message_id: int, user) -> int:
    """Mark one (or, with message_id=None, every) in-app message of `user` read."""
    with transaction.atomic():
        qs = OutboundMessage.objects.filter(agency=agency, recipient_user=user, channel=Channel.INAPP,
                                            status=Status.SENT, read_at__isnull=True)
        if message_id is not None:
            qs = qs.filter(pk=message_id)
        return qs.update(read_at=timezone.now())


def publish_delivery(*, agency_id: int, message_id: int) -> None:
    """Hand one due message to a worker; if the broker is down, the sweep delivers it later."""
    task_publish("notifications.tasks.deliver", kwargs={"agency_id": agency_id, "message_id": message_id},
                 after_commit=False)
