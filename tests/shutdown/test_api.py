import pytest

from shutdown.models import Blocker, TaskItem, Tier
from shutdown.states import TaskState
from tests.builders import make_task
from tests.factories import SubAccountFactory

from .helpers import PDF, approve, clean, run_precheck, upload


def base(world):
    return f"/api/v1/agencies/{world.agency.slug}/shutdown-tasks/"


@pytest.fixture
def accounts(world_a):
    return [SubAccountFactory(agency=world_a.agency, platform=p, **clean()) for p in ("douyin", "bilibili", "wechat")]


def test_create_task_from_ids(world_a, accounts, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        response = world_a.client("operator").post(base(world_a), {
            "title": "Q4 清理", "strategy": "restrict", "sub_account_ids": [a.pk for a in accounts],
            "tier_rule": "platform"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["state"] == "checking"
    assert body["strategy"] == "restrict"
    detail = world_a.client("auditor").get(f"{base(world_a)}{body['id']}/").json()
    assert [t["name"] for t in detail["tiers"]][0].startswith("Douyin")
    assert detail["item_counts"]["total"] == 3


def test_an_api_created_task_is_pre_checked_like_a_page_created_one(world_a, accounts,
                                                                    django_capture_on_commit_callbacks):
    """Both run lifecycle.task_create_and_check: the items are queued for checking and the run is published."""
    from django.urls import reverse

    from shutdown.models import ShutdownTask
    from shutdown.services.precheck import precheck_run

    ids = [a.pk for a in accounts]
    with django_capture_on_commit_callbacks(execute=False) as api_published:
        response = world_a.client("operator").post(base(world_a), {
            "title": "API", "strategy": "shutdown", "sub_account_ids": ids[:2]}, format="json")
    assert response.status_code == 201
    with django_capture_on_commit_callbacks(execute=False) as page_published:
        page = world_a.client("operator").post(reverse("shutdown:task_create", kwargs={"agency_slug": world_a.agency.slug}), {
            "ids": ids[2:], "title": "Page", "strategy": "shutdown"})
    assert page.status_code == 302
    assert len(api_published) == len(page_published) == 1  # the pre-check run, queued after commit
    with world_a.scope():
        for title in ("API", "Page"):
            task = ShutdownTask.objects.get(title=title)
            assert task.state == TaskState.CHECKING and task.progress_total == task.items.count()
            assert set(task.items.values_list("state", flat=True)) == {"checking"}
            assert list(task.events.order_by("seq").values_list("kind", flat=True)) == [
                "task.created", "precheck.started"]
            precheck_run(agency=world_a.agency, task_id=task.pk)
            task.refresh_from_db()
            assert task.state == TaskState.READY


def test_create_rejects_another_agencys_ids(world_a, world_b, accounts):
    foreign = SubAccountFactory(agency=world_b.agency)
    response = world_a.client("operator").post(base(world_a), {
        "title": "x", "strategy": "shutdown", "sub_account_ids": [accounts[0].pk, foreign.pk]}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"]["sub_account_ids"] == [foreign.pk]
    matrix = world_a.client("operator").post(base(world_a), {
        "title": "x", "strategy": "matrix", "sub_account_ids": [accounts[0].pk], "matrix_target": foreign.pk},
        format="json")
    assert matrix.status_code == 400
    assert "matrix_target" in matrix.json()["error"]["details"]


def test_wrong_role_is_403_and_other_agency_is_404(world_a, world_b, accounts):
    payload = {"title": "x", "strategy": "shutdown", "sub_account_ids": [accounts[0].pk]}
    assert world_a.client("auditor").post(base(world_a), payload, format="json").status_code == 403
    assert world_a.client("finance").post(base(world_a), payload, format="json").status_code == 403
    task = make_task(world_a, accounts)
    assert world_b.client("owner").get(f"{base(world_a)}{task.pk}/").status_code == 404
    # the other agency's owner, on their own agency's URL, cannot reach this task either
    assert world_b.client("owner").get(f"{base(world_b)}{task.pk}/").status_code == 404
    assert world_b.client("owner").post(f"{base(world_b)}{task.pk}/precheck/").status_code == 404


def test_precheck_blockers_resolve_and_item_detail(world_a, accounts):
    blocked = SubAccountFactory(agency=world_a.agency, **clean(open_infringement_complaints=1, followers=20000,
                                                                 region="international"))
    task = make_task(world_a, [*accounts, blocked])
    client = world_a.client("operator")
    response = client.post(f"{base(world_a)}{task.pk}/precheck/")
    assert response.status_code == 202
    assert response.json()["state"] == "checking"
    from shutdown.services.precheck import precheck_run

    with world_a.scope():
        precheck_run(agency=world_a.agency, task_id=task.pk)
        item = TaskItem.objects.get(task=task, sub_account=blocked)
    blockers = client.get(f"{base(world_a)}{task.pk}/blockers/").json()["results"]
    assert {b["code"] for b in blockers} == {"compliance.infringement_complaint", "documents.gdpr_declaration"}
    complaint = next(b for b in blockers if b["rule"] == "R4")
    assert complaint["appeal_channel"]
    assert complaint["reason"]
    detail = client.get(f"{base(world_a)}{task.pk}/items/{item.pk}/").json()
    assert {s["rule"] for s in detail["checklist"]} >= {"R9.1", "R1.1", "R1.2", "R9.2", "R9.3", "R7.3"}
    assert detail["recommendation"]["reasons"][0]["rule"] == "R9.2"
    assert detail["estimate"]["rules"] == ["R1.3", "R7.3"]
    assert {c["rule"] for c in detail["consequences"]} >= {"R2.1", "R9.3"}
    assert detail["required_documents"] == [{"kind": "gdpr_declaration", "rule": "R7.3", "uploaded": False}]
    # resolve by note, upload the declaration, recheck
    assert client.post(f"{base(world_a)}{task.pk}/blockers/{complaint['id']}/resolve/", {"note": "已撤诉"},
                       format="json").status_code == 200
    gdpr = next(b for b in blockers if b["rule"] == "R7.3")
    refused = client.post(f"{base(world_a)}{task.pk}/blockers/{gdpr['id']}/resolve/", {"note": "x"}, format="json")
    assert refused.status_code == 409
    up = client.post(f"{base(world_a)}{task.pk}/documents/", {"kind": "gdpr_declaration", "item": item.pk,
                                                                "file": upload(PDF, "gdpr.pdf")}, format="multipart")
    assert up.status_code == 201
    assert len(up.json()["sha256"]) == 64
    bad = client.post(f"{base(world_a)}{task.pk}/documents/", {"kind": "other", "file": upload(b"hello", "a.pdf")},
                      format="multipart")
    assert bad.status_code == 400
    assert bad.json()["error"]["details"] == {"file": ["type"]}
    assert client.post(f"{base(world_a)}{task.pk}/items/{item.pk}/recheck/").status_code == 202
    with world_a.scope():
        precheck_run(agency=world_a.agency, task_id=task.pk)
        assert not Blocker.objects.filter(task=task, state__in=Blocker.BLOCKING_STATES).exists()
    assert client.get(f"{base(world_a)}{task.pk}/").json()["state"] == "ready"


def test_appeal_with_file_and_exclude_and_move(world_a, accounts):
    blocked = SubAccountFactory(agency=world_a.agency, **clean(bound_mini_programs=1))
    task = run_precheck(world_a, make_task(world_a, [*accounts, blocked], tier_rule="batch_size", batch_size=2))
    client = world_a.client("operator")
    with world_a.scope():
        blocker = Blocker.objects.get(task=task)
        item = blocker.item
        last = Tier.objects.filter(task=task).order_by("-position").first()
    appeal = client.post(f"{base(world_a)}{task.pk}/blockers/{blocker.pk}/appeal/",
                         {"note": "开放平台工单 123", "file": upload()}, format="multipart")
    assert appeal.status_code == 200
    assert appeal.json()["state"] == "appealed"
    assert appeal.json()["appeal_document"]
    moved = client.post(f"{base(world_a)}{task.pk}/items/{item.pk}/move/", {"tier": last.pk}, format="json")
    assert moved.status_code == 200
    assert moved.json()["tier"] == last.pk
    excluded = client.post(f"{base(world_a)}{task.pk}/items/{item.pk}/exclude/", {"reason": "下批处理"}, format="json")
    assert excluded.json()["state"] == "excluded"
    assert client.get(f"{base(world_a)}{task.pk}/").json()["state"] == "ready"
    # executing actions are 409 before approval, 403 for the auditor
    assert client.post(f"{base(world_a)}{task.pk}/execution/start/").status_code == 409
    assert world_a.client("auditor").post(f"{base(world_a)}{task.pk}/execution/start/").status_code == 403


def test_patch_edits_only_while_editable(world_a, accounts):
    task = run_precheck(world_a, make_task(world_a, accounts))
    client = world_a.client("operator")
    assert client.patch(f"{base(world_a)}{task.pk}/", {"title": "改名"}, format="json").json()["title"] == "改名"
    approve(world_a, task)
    response = client.patch(f"{base(world_a)}{task.pk}/", {"title": "again"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_editable"


def test_execution_through_the_api(world_a, accounts):
    task = approve(world_a, run_precheck(world_a, make_task(world_a, accounts)))
    client = world_a.client("operator")
    assert client.post(f"{base(world_a)}{task.pk}/execution/start/").json()["state"] == "executing"
    with world_a.scope():
        items = list(TaskItem.objects.filter(task=task))
        tier = Tier.objects.get(task=task)
    done = client.post(f"{base(world_a)}{task.pk}/items/{items[0].pk}/done/",
                       {"receipt_number": "R-1", "screenshot": upload()}, format="multipart")
    assert done.status_code == 200
    assert done.json()["effective_at"]
    again = client.post(f"{base(world_a)}{task.pk}/items/{items[0].pk}/done/", {}, format="json")
    assert again.status_code == 409
    client.post(f"{base(world_a)}{task.pk}/items/{items[1].pk}/failed/", {"reason": "驳回"}, format="json")
    early = client.post(f"{base(world_a)}{task.pk}/tiers/{tier.pk}/close/")
    assert early.status_code == 409
    assert early.json()["error"]["code"] == "items_executing"
    client.post(f"{base(world_a)}{task.pk}/items/{items[2].pk}/done/", {}, format="json")
    closed = client.post(f"{base(world_a)}{task.pk}/tiers/{tier.pk}/close/")
    assert closed.json()["state"] == "closed_with_failures"
    assert client.get(f"{base(world_a)}{task.pk}/").json()["state"] == TaskState.DONE


def _seed(world, n):
    accounts = [SubAccountFactory(agency=world.agency, **clean(pending_orders=i % 2)) for i in range(n)]
    task = run_precheck(world, make_task(world, accounts, tier_rule="platform"))
    return task


@pytest.mark.parametrize("n", [3, 40])
def test_list_endpoints_query_count_is_flat(world_a, n, django_assert_max_num_queries):
    task = _seed(world_a, n)
    for _i in range(min(n, 5)):
        make_task(world_a, [SubAccountFactory(agency=world_a.agency)])
    client = world_a.client("auditor")
    for url in ("", f"{task.pk}/items/", f"{task.pk}/blockers/", f"{task.pk}/documents/", f"{task.pk}/"):
        with django_assert_max_num_queries(14):
            assert client.get(base(world_a) + url).status_code == 200
