"""PostgreSQL checks of the sweep's due-row query at scale (bench and tests)."""

from django.db import connection
from django.utils import timezone

from notifications.models import OutboundMessage


def fill_outbox(*, agency_id: int, rows: int) -> None:
    """Insert `rows` stored messages quickly (most sent, some scheduled, a few due), then ANALYZE."""
    table = OutboundMessage._meta.db_table
    with connection.cursor() as cursor:
        # The table name is our own model's, not input.
        sql = f"""
            INSERT INTO {table} (agency_id, channel, kind, template_code, params, language, recipient_address,
                subject, body, send_after, status, attempts, last_error, provider_message_id, idempotency_key,
                ref, created_at)
            SELECT %s, 'email', 'reminder', 'deadline_reminder', '{{}}'::jsonb, 'zh-hans', 'x@example.cn', '', '',
                now() + ((g %% 400) - 20) * interval '1 day',
                CASE WHEN g %% 50 = 0 THEN 'pending' ELSE 'sent' END, 0, '', '', 'fill:' || g, '', now()
            FROM generate_series(1, %s) AS g
        """  # noqa: S608
        cursor.execute(sql, [agency_id, rows])
        cursor.execute(f"ANALYZE {table}")


def due_query_uses_index() -> tuple[bool, str]:
    """EXPLAIN the sweep's claim query exactly as the ORM builds it."""
    from django_scopes import scopes_disabled

    with scopes_disabled():
        qs = (OutboundMessage.objects.filter(status=OutboundMessage.Status.PENDING, send_after__lte=timezone.now())
              .order_by("send_after")[:200])
        plan = qs.explain()
    return "outbound_due_idx" in plan, plan
