"""The one entry point for anything that must reach a person by email, SMS or in-app.

Callers (reminders, approvals, signing links, alerts) store a message row inside their
own transaction; delivery happens later, exactly once per idempotency key: right after
commit for messages due now (a Celery task), and by the beat sweep every minute for the
rest (and for anything whose task was lost).
"""

from django.db import IntegrityError, transaction
from django.utils import timezone

from agency.bulksql import insert_rows
from notifications.models import Channel, OutboundMessage


def message_enqueue(*, agency, channel: str, kind: str, template_code: str, idempotency_key: str,
                    params: dict | None = None, recipient_user=None, recipient_address: str = "",
                    send_after=None, language: str = "zh-hans", subject: str = "", body: str = "",
                    task=None, ref: str = "", secrets: dict | None = None,
                    transactional: bool = False) -> tuple[OutboundMessage, bool]:
    """Store a message unless one with the same key exists. Returns (message, created).

    SMS due inside the quiet hours (settings.SMS_QUIET_HOURS_*, agency time zone) are
    stored for the next morning, unless `transactional` (a one-time code: it goes at once).
    `secrets` (a link's token, a code) are sealed for delivery only, never stored readable
    (notifications.secrets); the template reads them like params.
    A member who turned this kind off for this channel (notification settings) gets nothing:
    (None, False).
    """
    from notifications.secrets import seal
    from notifications.services.delivery import new_message_id, publish_delivery, send_time_for

    if recipient_user is None and not recipient_address:
        raise ValueError("A message needs a recipient user or address")
    if channel not in Channel.values:
        raise ValueError(f"Unknown channel {channel!r}")
    existing = OutboundMessage.objects.filter(agency=agency, idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing, False
    if recipient_user is not None and not _wanted(agency, [(recipient_user.pk, kind, channel)]):
        return None, False  # the member chose not to be told this way (their notification settings)
    now = timezone.now()
    send_after = send_time_for(channel=channel, moment=send_after or now, tz=agency.tz, transactional=transactional)
    try:
        with transaction.atomic():
            message = OutboundMessage.objects.create(
                agency=agency, channel=channel, kind=kind, template_code=template_code, params=params or {},
                recipient_user=recipient_user, recipient_address=recipient_address,
                send_after=send_after, language=language, subject=subject, body=body,
                idempotency_key=idempotency_key, task=task, ref=ref, sealed=seal(secrets or {}),
                transactional=transactional, email_message_id=new_message_id() if channel == Channel.EMAIL else "",
            )
    except IntegrityError:
        return OutboundMessage.objects.get(agency=agency, idempotency_key=idempotency_key), False
    if send_after <= now:
        agency_id, message_id = agency.pk, message.pk
        transaction.on_commit(lambda: publish_delivery(agency_id=agency_id, message_id=message_id))
    return message, True


def messages_enqueue_bulk(*, agency, specs: list[dict]) -> int:
    """Store many messages at once (reminders of a whole task). Same rules as message_enqueue:
    keys already stored are skipped, quiet hours applied, messages due now published after commit.

    Each spec holds message_enqueue's keyword arguments (without `agency`). Returns how many
    rows were new.
    """
    from notifications.secrets import seal
    from notifications.services.delivery import new_message_id, publish_delivery, send_time_for

    if not specs:
        return 0
    now = timezone.now()
    keys = [s["idempotency_key"] for s in specs]
    existing = set()
    for start in range(0, len(keys), 1000):
        existing.update(OutboundMessage.objects.filter(agency=agency, idempotency_key__in=keys[start:start + 1000])
                        .values_list("idempotency_key", flat=True))
    rows, seen = [], set(existing)
    wanted = _wanted(agency, [(spec["recipient_user"].pk, spec["kind"], spec["channel"]) for spec in specs
                              if spec.get("recipient_user") is not None])
    for spec in specs:
        key = spec["idempotency_key"]
        if key in seen:
            continue
        seen.add(key)
        if spec.get("recipient_user") is None and not spec.get("recipient_address"):
            raise ValueError("A message needs a recipient user or address")
        channel = spec["channel"]
        user = spec.get("recipient_user")
        if user is not None and (user.pk, spec["kind"], channel) not in wanted:
            continue  # the member chose not to be told this way
        rows.append(OutboundMessage(
            agency=agency, channel=channel, kind=spec["kind"], template_code=spec["template_code"],
            params=spec.get("params") or {}, recipient_user=spec.get("recipient_user"),
            recipient_address=spec.get("recipient_address", ""),
            send_after=send_time_for(channel=channel, moment=spec.get("send_after") or now, tz=agency.tz,
                                     transactional=spec.get("transactional", False)),
            language=spec.get("language", "zh-hans"), subject=spec.get("subject", ""), body=spec.get("body", ""),
            idempotency_key=key, task=spec.get("task"), ref=spec.get("ref", ""),
            sealed=seal(spec.get("secrets") or {}), transactional=spec.get("transactional", False),
            email_message_id=new_message_id() if channel == Channel.EMAIL else "",
        ))
    with transaction.atomic():  # a key stored meanwhile by another process is skipped, as above
        insert_rows(OutboundMessage, rows, ignore_conflicts=True)
    due_keys = [r.idempotency_key for r in rows if r.send_after <= now]
    if due_keys:
        agency_id = agency.pk
        due_ids = list(OutboundMessage.objects.filter(agency=agency, idempotency_key__in=due_keys)
                       .values_list("pk", flat=True))

        def publish():
            for message_id in due_ids:
                publish_delivery(agency_id=agency_id, message_id=message_id)

        transaction.on_commit(publish)
    return len(rows)


def _wanted(agency, triples: list[tuple[int, str, str]]) -> set[tuple[int, str, str]]:
    """Of (user id, kind, channel), those the member has not turned off in their notification
    settings (notifications.services.preferences): one query for the lot."""
    from notifications.models import ChannelPreference

    if not triples:
        return set()
    chosen = {(user_id, kind): set(channels) for user_id, kind, channels in ChannelPreference.objects.filter(
        agency=agency, user_id__in={t[0] for t in triples}, kind__in={t[1] for t in triples})
        .values_list("user_id", "kind", "channels")}
    return {t for t in triples if (t[0], t[1]) not in chosen or t[2] in chosen[(t[0], t[1])]}
