"""A benchmark process of its own, on a database that is kept between runs (bench/cached.py).

    python bench/child.py scale      # 100,000 accounts (built once): list API, HTML page, pre-check of 10,000
    python bench/child.py outbox N   # 1,000,000 stored messages (built once) and N due ones (every run)
    python bench/child.py deliver T  # a worker: started (warmed up as ops/celery_signals.py does), sleeps until
                                     # wall time T, then sweeps until nothing is due

DATABASE_URL names the cached database; `scale` and `outbox` migrate it first (quick when up to date).
The last line printed is a JSON object of figures.
"""

import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("TESTING", "1")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
os.environ.setdefault("LOG_LEVEL", "WARNING")

SCALE_ACCOUNTS = 100_000
STORED_MESSAGES = 1_000_000
PLATFORMS = ["weibo", "douyin", "kuaishou", "wechat", "bilibili", "xiaohongshu"]


def _setup(*, migrate: bool) -> None:
    import django
    from django.core.management import call_command

    django.setup()
    if migrate:  # not in a worker: the `outbox` step migrated, and migrate's memory is not the worker's
        call_command("migrate", verbosity=0, interactive=False)


def _rss_mb() -> float:
    """This process's own peak resident memory: VmHWM of /proc/self/status on Linux. Not
    ru_maxrss: a child started by subprocess (vfork + exec) inherits its parent's peak there, so
    under bench/run.py every worker reported the bench process's size (~155 MB after the
    in-process benchmarks) instead of its own (~117 MB)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _agency(slug: str):
    from accounts.models import Membership, User
    from bench.world import bench_agency

    agency = bench_agency(slug, slug)
    user, _ = User.objects.get_or_create(email=f"{slug}@example.cn", defaults={"mobile": "+8613800138000"})
    Membership.objects.get_or_create(user=user, agency=agency, defaults={"role": "owner"})
    return agency, user


def _median_ms(client, url: str, n: int) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200, response.status_code
    return sorted(times)[len(times) // 2] * 1000


def scale() -> dict:
    import random
    from datetime import date, timedelta

    from django.db import transaction
    from django.test import Client
    from django_scopes import scope

    from agency.bulksql import insert_values
    from agency.models import SubAccount
    from shutdown.services.precheck import precheck_run, precheck_start
    from shutdown.services.tasks import task_create

    agency, user = _agency("bench-scale")
    built = 0.0
    with scope(agency=agency):
        have = SubAccount.objects.filter(agency=agency).count()
        if have < SCALE_ACCOUNTS:  # built once, kept for the next runs
            start = time.perf_counter()
            rng = random.Random(16)
            names = ["agency_id", "platform", "platform_account_id", "display_name", "kind", "region", "followers",
                     "high_risk", "open_infringement_complaints", "pending_orders", "bound_mini_programs",
                     "third_party_authorisations", "api_anomaly", "hosted_topics", "mcn_contract_end"]
            rows = [(agency.pk, PLATFORMS[i % 6], f"scale_{i}", f"账号{i}",
                     rng.choices(["personal", "enterprise", "third_party"], [70, 20, 10])[0],
                     "international" if rng.random() < 0.08 else "domestic", rng.randint(0, 2_000_000),
                     rng.random() < 0.05, int(rng.random() < 0.07), int(rng.random() < 0.2),
                     int(rng.random() < 0.1), int(rng.random() < 0.2), rng.random() < 0.04, int(rng.random() < 0.1),
                     date(2025, 1, 1) + timedelta(days=rng.randint(0, 900))) for i in range(have, SCALE_ACCOUNTS)]
            with transaction.atomic():
                insert_values(SubAccount, names, rows)
            from django.db import connection

            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(f"ANALYZE {SubAccount._meta.db_table}")  # noqa: S608 - our own table
            built = time.perf_counter() - start
        ids = list(SubAccount.objects.filter(agency=agency).order_by("pk").values_list("pk", flat=True)[:10_000])

    client = Client()
    client.force_login(user)
    query = "page_size=50&platform=douyin&ordering=-followers"
    api = f"/api/v1/agencies/{agency.slug}/sub-accounts/?{query}"
    page = f"/a/{agency.slug}/sub-accounts/?{query}"
    client.get(api)
    client.get(page)
    figures = {"scale_100k_list_api_ms": _median_ms(client, api, 15),
               "scale_100k_list_page_ms": _median_ms(client, page, 15)}

    # The pre-check of 10,000 of them, rolled back afterwards so that the next run finds them free.
    with scope(agency=agency), transaction.atomic():
        start = time.perf_counter()
        task = task_create(agency=agency, actor=user, title="Scale 10k", strategy="shutdown", sub_account_ids=ids,
                           tier_rule="platform")
        precheck_start(agency=agency, task=task, actor=user, publish=False)
        result = precheck_run(agency=agency, task_id=task.pk)
        figures["scale_100k_precheck_10k_s"] = time.perf_counter() - start
        assert result["checked"] == len(ids), result
        transaction.set_rollback(True)
    figures["scale_100k_built_s"] = built
    return figures


def outbox(due: int) -> dict:
    """1,000,000 stored messages (sent or scheduled later: none due), built once; then `due` due now."""
    from datetime import timedelta

    from django.db import connection, transaction
    from django.utils import timezone
    from django_scopes import scopes_disabled

    from agency.bulksql import insert_values
    from notifications.models import OutboundMessage

    agency, user = _agency("bench-outbox")
    now = timezone.now()
    names = ["agency_id", "channel", "kind", "template_code", "params", "recipient_user_id", "send_after", "status",
             "idempotency_key"]
    built = 0.0
    with scopes_disabled():
        stored = OutboundMessage.objects.filter(agency=agency, idempotency_key__startswith="stored:").count()
        if stored < STORED_MESSAGES:
            start = time.perf_counter()
            for base in range(stored, STORED_MESSAGES, 100_000):
                # 1 in 50 scheduled a year or more ahead (pending, not due), the rest sent in the past.
                rows = [(agency.pk, "email", "reminder", "deadline_reminder", {}, user.pk,
                         now + timedelta(days=366 + i % 400) if i % 50 == 0 else now - timedelta(days=1 + i % 300),
                         "pending" if i % 50 == 0 else "sent", f"stored:{i}")
                        for i in range(base, min(base + 100_000, STORED_MESSAGES))]
                with transaction.atomic():
                    insert_values(OutboundMessage, names, rows)
            built = time.perf_counter() - start
        # Every run: drop the previous run's due messages, store `due` new ones.
        OutboundMessage.objects.filter(agency=agency, idempotency_key__startswith="due:").delete()
        if connection.vendor == "postgresql":
            # What autovacuum does on a server in use. It is off on this bench machine's server, and
            # each run's deletes, claims and records left about 90,000 dead row versions that no
            # one cleared (580,000 after a dozen runs), for every later run to step over.
            with connection.cursor() as cursor:
                cursor.execute(f"VACUUM {OutboundMessage._meta.db_table}")  # noqa: S608 - our own table
        channels = ["email", "sms", "inapp"]
        params = {"account": "账号", "platform": "抖音", "label": "Drafts", "rule": "R2.1", "days_before": 1,
                  "due_date": "2030-01-01 09:00", "path": "/"}
        with transaction.atomic():
            insert_values(OutboundMessage, names, [
                (agency.pk, channels[i % 3], "reminder", "deadline_reminder", {**params, "account": f"账号{i}"},
                 user.pk, now - timedelta(seconds=1), "pending", f"due:{i}") for i in range(due)])
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {OutboundMessage._meta.db_table}")  # noqa: S608 - our own table
    return {"outbox_built_s": built}


def deliver(start_at: float) -> dict:
    from django.test.utils import override_settings
    from django_scopes import scopes_disabled

    from notifications.models import OutboundMessage
    from notifications.tasks import messages_sweep
    from ops.warmup import warm_up_worker

    warm_up_worker()  # what a Celery worker does when it starts (ops/celery_signals.py), before the start line
    rss_before = _rss_mb()
    with override_settings(SMS_BACKEND="notifications.sms.backends.noop.SmsBackend",
                           MAILERS={"default": {"BACKEND": "django.core.mail.backends.dummy.EmailBackend"}},
                           SMS_QUIET_HOURS_START=0, SMS_QUIET_HOURS_END=0):
        time.sleep(max(0.0, start_at - time.time()))
        started = time.time()
        sent = 0
        while True:  # what the beat does every minute, without waiting for the minute
            totals = messages_sweep.apply().get()
            sent += totals["sent"]
            if not totals["batches"]:
                break
        finished = time.time()
    with scopes_disabled():
        left = OutboundMessage.objects.filter(idempotency_key__startswith="due:", status="pending").count()
    return {"started": started, "finished": finished, "sent": sent, "left": left, "rss_mb": _rss_mb(),
            "rss_before_mb": rss_before}


def main() -> None:
    command = sys.argv[1]
    _setup(migrate=command != "deliver")
    if command == "scale":
        figures = scale()
    elif command == "outbox":
        figures = outbox(int(sys.argv[2]))
    elif command == "deliver":
        figures = deliver(float(sys.argv[2]))
    else:
        raise SystemExit(f"unknown command {command}")
    print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
