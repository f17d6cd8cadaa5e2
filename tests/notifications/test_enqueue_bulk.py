"""messages_enqueue_bulk: many reminders in one statement per batch; a key another process stored
between our look-up and our insert is skipped (ON CONFLICT DO NOTHING), never an error and never
a second message."""

import pytest
from django.utils import timezone
from django_scopes import scope

from notifications.models import OutboundMessage
from notifications.services import enqueue
from notifications.services.enqueue import messages_enqueue_bulk


def spec(key, address="13800138000", **extra):
    return {"channel": "email", "kind": "reminder", "template_code": "reminder", "idempotency_key": key,
            "recipient_address": f"{address}@example.cn", "params": {"account": "号", "n": 1}, **extra}


@pytest.mark.django_db
def test_a_key_stored_by_another_process_meanwhile_is_skipped_not_an_error(world_a, monkeypatch):
    agency = world_a.agency
    real_wanted = enqueue._wanted

    def race(*args, **kwargs):
        # Runs after our look-up of existing keys saw nothing: the other process stores "rem:1" now.
        OutboundMessage.objects.create(agency=agency, channel="email", kind="reminder", template_code="reminder",
                                       idempotency_key="rem:1", recipient_address="first@example.cn",
                                       send_after=timezone.now())
        return real_wanted(*args, **kwargs)

    monkeypatch.setattr(enqueue, "_wanted", race)
    with scope(agency=agency):
        created = messages_enqueue_bulk(agency=agency, specs=[spec("rem:1"), spec("rem:2")])
        rows = {m.idempotency_key: m for m in OutboundMessage.objects.filter(idempotency_key__startswith="rem:")}
    assert created == 2  # both were new when looked up
    assert set(rows) == {"rem:1", "rem:2"}
    assert rows["rem:1"].recipient_address == "first@example.cn"  # the first writer's row stays
    assert rows["rem:2"].params == {"account": "号", "n": 1}
    assert rows["rem:2"].status == "pending" and rows["rem:2"].email_message_id


@pytest.mark.django_db
def test_every_column_is_stored_as_given(world_a):
    agency = world_a.agency
    user = world_a.user("legal")
    with scope(agency=agency):
        messages_enqueue_bulk(agency=agency, specs=[
            spec("rem:a", recipient_user=user, ref="deadline:9", language="en", subject="主题"),
            spec("rem:a"),  # the same key twice in one call: stored once
        ])
        (row,) = OutboundMessage.objects.filter(idempotency_key="rem:a")
    assert (row.recipient_user_id, row.ref, row.language, row.subject) == (user.pk, "deadline:9", "en", "主题")
    assert row.created_at is not None and row.send_after is not None
