"""Shutdown-task figures: a task over 10,000 accounts, created and pre-checked (issue 4).

task_precheck_10k_s: seconds to create the task (with platform tiers) and run every pre-check
                     through the Celery task (eager in `make bench`).
task_precheck_queries: SQL queries of the pre-check run itself (flat in the number of accounts).
"""

import os
import random
import time
from contextlib import nullcontext
from datetime import date, timedelta

N = 10_000


def run():
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext
    from django_scopes import scope

    from accounts.models import User
    from agency.models import SubAccount
    from bench.world import bench_agency
    from shutdown.models import ShutdownTask
    from shutdown.services.precheck import precheck_run, precheck_start
    from shutdown.services.tasks import task_create

    agency = bench_agency("bench-precheck", "Bench precheck")
    user, _ = User.objects.get_or_create(email="bench-precheck@example.cn")
    rng = random.Random(4)
    platforms = ["weibo", "douyin", "kuaishou", "wechat", "bilibili", "xiaohongshu"]
    with scope(agency=agency):
        SubAccount.objects.bulk_create([
            SubAccount(
                agency=agency, platform=platforms[i % 6], platform_account_id=f"bench_{i}", display_name=f"账号{i}",
                kind=rng.choices(["personal", "enterprise", "third_party"], [70, 20, 10])[0],
                region="international" if rng.random() < 0.08 else "domestic", followers=rng.randint(0, 50000),
                high_risk=rng.random() < 0.05, open_infringement_complaints=int(rng.random() < 0.07),
                pending_orders=int(rng.random() < 0.2), bound_mini_programs=int(rng.random() < 0.1),
                third_party_authorisations=int(rng.random() < 0.2), api_anomaly=rng.random() < 0.04,
                hosted_topics=int(rng.random() < 0.1),
                mcn_contract_end=date(2025, 1, 1) + timedelta(days=rng.randint(0, 900)),
            ) for i in range(N)
        ], batch_size=2000)
        ids = list(SubAccount.objects.filter(platform_account_id__startswith="bench_").values_list("pk", flat=True))

        timed = CaptureQueriesContext(connection)  # BENCH_VERBOSE only: capturing costs time too
        with timed if os.environ.get("BENCH_VERBOSE") else nullcontext():
            start = time.perf_counter()
            task = task_create(agency=agency, actor=user, title="Bench 10k", strategy="shutdown",
                               sub_account_ids=ids, tier_rule="platform")
            with transaction.atomic():  # publishes the Celery task (eager) on commit
                precheck_start(agency=agency, task=task, actor=user)
            elapsed = time.perf_counter() - start
        task.refresh_from_db()
        assert task.state in ("blocked", "ready"), task.state

        # The query count of one full pre-check run, measured on its own.
        ShutdownTask.objects.filter(pk=task.pk).update(state="checking", progress_done=0)
        task.items.exclude(state="excluded").update(state="checking")
        with CaptureQueriesContext(connection) as captured:
            precheck_run(agency=agency, task_id=task.pk)
    if os.environ.get("BENCH_VERBOSE"):
        for label, queries in (("timed", timed), ("run", captured)):
            for q in sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:6]:
                print(label, q["time"], q["sql"][:300])
    return [("task_precheck_10k_s", elapsed, "s"), ("task_precheck_queries", len(captured.captured_queries),
                                                     "queries")]
