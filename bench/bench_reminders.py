"""Reminder delivery figures.

reminders_due_10k_inprocess_s: 10,000 due reminders (email, SMS, in-app) through no-op backends by
    the sweep, in the bench process (CELERY_TASK_ALWAYS_EAGER=1), 10,000 stored.
reminders_due_10k_s: the same 10,000 due among 1,000,000 stored (kept between runs, bench/cached.py),
    by a worker process of its own running the beat's sweep task (`messages_sweep`) until nothing is due.
reminders_worker_rss_mb: that worker's peak resident memory.
reminders_two_workers_ratio: two such workers at once on 20,000 due: their throughput over one worker's.
On PostgreSQL, also whether the due-row query uses the partial index with 1,000,000 stored rows
(reminders_due_query_index_1m: 1 = yes).
"""

import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cached  # noqa: E402


def _in_process():
    from django.db import connection
    from django.test.utils import override_settings
    from django.utils import timezone
    from django_scopes import scopes_disabled

    from accounts.models import Membership, User
    from bench.world import bench_agency
    from notifications.models import OutboundMessage
    from notifications.services.delivery import messages_deliver_due

    agency = bench_agency("bench-reminders", "Bench reminders")
    user, _ = User.objects.get_or_create(email="bench-rem@example.cn", defaults={"mobile": "+8613800138000"})
    Membership.objects.get_or_create(user=user, agency=agency, defaults={"role": "owner"})
    now = timezone.now()
    channels = ["email", "sms", "inapp"]
    rows = [OutboundMessage(agency=agency, channel=channels[i % 3], kind="reminder", template_code="deadline_reminder",
                            params={"account": f"账号{i}", "platform": "抖音", "label": "Drafts", "rule": "R2.1",
                                    "days_before": 1, "due_date": "2030-01-01 09:00", "path": "/"},
                            recipient_user=user, send_after=now - timedelta(seconds=1), idempotency_key=f"bench:{i}")
            for i in range(10_000)]
    figures = []
    with scopes_disabled():
        OutboundMessage.objects.bulk_create(rows, batch_size=2000)
        with override_settings(SMS_BACKEND="notifications.sms.backends.noop.SmsBackend",
                               MAILERS={"default": {"BACKEND": "django.core.mail.backends.dummy.EmailBackend"}},
                               SMS_QUIET_HOURS_START=0, SMS_QUIET_HOURS_END=0):
            start = time.perf_counter()
            # This agency's rows only: other benches leave messages scheduled for later (never due here).
            while OutboundMessage.objects.filter(agency=agency, status="pending").exists():
                messages_deliver_due(max_seconds=600)
            elapsed = time.perf_counter() - start
        sent = OutboundMessage.objects.filter(agency=agency, status="sent").count()
        figures.append(("reminders_due_10k_inprocess_s", elapsed, "s"))
        figures.append(("reminders_due_10k_sent", sent, "rows"))
        if connection.vendor == "postgresql":
            from notifications.explain import due_query_uses_index, fill_outbox

            fill_outbox(agency_id=agency.pk, rows=1_000_000)
            uses, _plan = due_query_uses_index()
            figures.append(("reminders_due_query_index_1m", 1 if uses else 0, "bool"))
    return figures


def _workers():
    url = cached.database_url("outbox")
    cached.run_child(url, "outbox", "10000")
    cached.settle(url)
    one = cached.run_child(url, "deliver", str(time.time()))
    assert one["sent"] == 10_000 and one["left"] == 0, one
    t1 = one["finished"] - one["started"]
    cached.run_child(url, "outbox", "20000")
    cached.settle(url)
    start_at = str(time.time() + 8)  # both set up (Django, migrate check) before the start line
    procs = [cached.start_child(url, "deliver", start_at) for _ in range(2)]
    two = [cached.finish_child(p) for p in procs]
    assert sum(w["sent"] for w in two) == 20_000 and all(w["left"] == 0 for w in two), two
    t2 = max(w["finished"] for w in two) - min(w["started"] for w in two)
    return [
        ("reminders_due_10k_s", t1, "s"),
        ("reminders_worker_rss_mb", max(one["rss_mb"], *(w["rss_mb"] for w in two)), "MB"),
        ("reminders_two_workers_20k_s", t2, "s"),
        ("reminders_two_workers_ratio", (20_000 / t2) / (10_000 / t1), "x"),
    ]


def run():
    # The workers first: on PostgreSQL the in-process part then stores 1,000,000 rows in the bench
    # database (the due-index check), and the server's checkpoint and autovacuum after that write
    # took the CPU the workers were being timed on (see also cached.settle).
    workers = _workers()
    return _in_process() + workers
