"""Approvals: a 2,000-item task through three levels (the last creates 2,000 signature
requests and 4,000 outbox rows), the cross-agency inbox with 200 open tasks, chain verify."""

import time

# Wired into `make bench` by bench/run.py.


def run():
    # Measure the request path and the worker path separately: with eager Celery the last
    # approval would run the worker's job inline (and then find nothing left to do).
    from config.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        return _run()
    finally:
        app.conf.task_always_eager = eager


def _run():
    from django.test import Client
    from django_scopes import scope

    from accounts.models import Membership, User
    from agency.models import SubAccount
    from approvals.services.decisions import approval_decide, task_submit
    from approvals.services.policy import approval_policy_save
    from bench.world import bench_agency
    from shutdown.events import chain_verify
    from shutdown.models import ShutdownTask, TaskItem, Tier

    agency = bench_agency("bench-approvals", "Bench approvals")
    users = {}
    for role in ("owner", "admin", "operator", "legal", "finance"):
        u, _ = User.objects.get_or_create(email=f"{role}@bench-approvals.cn")
        Membership.objects.get_or_create(user=u, agency=agency, defaults={"role": role})
        users[role] = u
    out = []
    with scope(agency=agency):
        approval_policy_save(agency=agency, name="3", levels=[
            {"name": "o", "role": "operator", "sla_hours": 24}, {"name": "l", "role": "legal", "sla_hours": 24},
            {"name": "f", "role": "finance", "sla_hours": 24}])
        n = int(__import__("os").environ.get("BENCH_N", "2000"))
        SubAccount.objects.bulk_create([SubAccount(agency=agency, platform="douyin", platform_account_id=f"b{i}",
                                                   display_name=f"账号{i}", owner_mobile="+8613800138000",
                                                   owner_email=f"o{i}@x.cn", owner_name="张三") for i in range(n)])
        task = ShutdownTask.objects.create(agency=agency, title="bench", state="ready")
        tier = Tier.objects.create(agency=agency, task=task, position=1, name="1")
        TaskItem.objects.bulk_create([TaskItem(agency=agency, task=task, tier=tier, sub_account=a, state="ready")
                                      for a in SubAccount.objects.all()])
        warm = ShutdownTask.objects.create(agency=agency, title="warm-up", state="ready")
        task_submit(agency=agency, task=warm, actor=users["admin"])  # first call loads translation catalogs
        t = time.perf_counter()
        task_submit(agency=agency, task=task, actor=users["admin"])
        out.append(("approvals_submit_2000_items_ms", (time.perf_counter() - t) * 1000, "ms"))
        t = time.perf_counter()
        approval_decide(agency=agency, task=task, actor=users["operator"], decision="approve")
        out.append(("approvals_decide_level_2000_items_ms", (time.perf_counter() - t) * 1000, "ms"))
        approval_decide(agency=agency, task=task, actor=users["legal"], decision="approve")
        t = time.perf_counter()

        approval_decide(agency=agency, task=task, actor=users["finance"], decision="approve")

        out.append(("approvals_last_level_with_2000_signature_requests_s", time.perf_counter() - t, "s"))
        from approvals.services.signatures import signatures_request_all

        t = time.perf_counter()
        made = signatures_request_all(agency=agency, task=task)
        out.append(("approvals_worker_2000_signature_requests_and_4000_links_s", time.perf_counter() - t, "s"))
        assert made == n
        t = time.perf_counter()
        result = chain_verify(task=task)
        out.append(("approvals_chain_verify_ms", (time.perf_counter() - t) * 1000, "ms"))
        assert result["ok"]
        t = time.perf_counter()
        for i in range(200):
            tk = ShutdownTask.objects.create(agency=agency, title=f"open {i}", state="ready")
            task_submit(agency=agency, task=tk, actor=users["admin"])
        out.append(("approvals_submit_small_task_ms", (time.perf_counter() - t) / 200 * 1000, "ms"))
    client = Client()
    client.force_login(users["operator"])
    client.get("/api/v1/inbox/")
    t = time.perf_counter()
    for _ in range(20):
        r = client.get("/api/v1/inbox/")
    out.append(("approvals_inbox_200_open_tasks_ms", (time.perf_counter() - t) / 20 * 1000, "ms"))
    assert r.json()["count"] == 201
    return out
