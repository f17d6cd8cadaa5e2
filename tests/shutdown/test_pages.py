import pytest
from django.urls import reverse

from shutdown.confirmations import confirmation_token
from shutdown.models import Blocker, ShutdownTask, TaskItem, Tier
from shutdown.states import TaskState
from tests.builders import make_task
from tests.factories import SubAccountFactory

from .helpers import approve, clean, run_precheck, upload


def url(world, name, **kwargs):
    return reverse(f"shutdown:{name}", kwargs={"agency_slug": world.agency.slug, **kwargs})


@pytest.fixture
def accounts(world_a):
    return [SubAccountFactory(agency=world_a.agency, platform=p, **clean()) for p in ("douyin", "xiaohongshu")]


def test_empty_list_says_what_to_do(world_a):
    response = world_a.client("operator").get(url(world_a, "task_list"))
    assert response.status_code == 200
    assert "sub-account list" in response.content.decode()


def test_create_page_prefilled_from_ids_and_creates_and_checks(world_a, accounts, django_capture_on_commit_callbacks):
    client = world_a.client("operator")
    query = "&".join(f"ids={a.pk}" for a in accounts)
    page = client.get(url(world_a, "task_create") + "?" + query)
    assert page.status_code == 200
    html = page.content.decode()
    assert "2 sub-accounts selected" in html
    assert accounts[0].display_name in html
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(url(world_a, "task_create"), {
            "ids": [a.pk for a in accounts], "title": "春季清理", "strategy": "shutdown", "tier_rule": "platform"})
    assert response.status_code == 302
    with world_a.scope():
        task = ShutdownTask.objects.get()
        assert task.state == TaskState.CHECKING
        assert task.items.count() == 2
        assert Tier.objects.filter(task=task).count() == 2


def test_create_page_rejects_bad_input_without_writing(world_a, world_b, accounts):
    foreign = SubAccountFactory(agency=world_b.agency)
    response = world_a.client("operator").post(url(world_a, "task_create"), {
        "ids": [accounts[0].pk, foreign.pk], "title": "x", "strategy": "shutdown"})
    assert response.status_code == 200
    assert "do not exist in this agency" in response.content.decode()
    with world_a.scope():
        assert not ShutdownTask.objects.exists()


def test_create_page_forbidden_for_auditor(world_a, accounts):
    assert world_a.client("auditor").get(url(world_a, "task_create")).status_code == 403


def test_detail_and_item_pages_show_blockers_checklist_and_estimates(world_a, world_b, accounts):
    blocked = SubAccountFactory(agency=world_a.agency, **clean(kind="enterprise", hosted_topics=1, high_risk=True))
    task = run_precheck(world_a, make_task(world_a, [*accounts, blocked]))
    client = world_a.client("auditor")
    html = client.get(url(world_a, "task_detail", pk=task.pk)).content.decode()
    assert "R1.3" in html
    assert "R3.3" in html
    assert blocked.display_name in html
    with world_a.scope():
        item = TaskItem.objects.get(task=task, sub_account=blocked)
    page = client.get(url(world_a, "item_detail", pk=task.pk, item_id=item.pk))
    html = page.content.decode()
    for text in ("R9.1", "我的-创作中心-视频号管理", "设置-创作者服务-视频号设置", "R7.2", "R9.3", "R9.4"):
        assert text in html, text
    assert world_b.client("owner").get(url(world_a, "task_detail", pk=task.pk)).status_code == 404


def test_progress_partial_and_actions(world_a, world_b, accounts):
    blocked = SubAccountFactory(agency=world_a.agency, **clean(api_anomaly=True))
    task = run_precheck(world_a, make_task(world_a, [*accounts, blocked]))
    client = world_a.client("operator")
    progress = client.get(url(world_a, "task_progress", pk=task.pk), HTTP_HX_REQUEST="true")
    assert progress.status_code == 200
    assert b"<progress" in progress.content
    with world_a.scope():
        blocker = Blocker.objects.get(task=task)
    response = client.post(url(world_a, "task_action", pk=task.pk, action="resolve"),
                           {"blocker": blocker.pk, "note": "接口已恢复"})
    assert response.status_code == 302
    with world_a.scope():
        blocker.refresh_from_db()
    assert blocker.state == "resolved"
    assert world_a.client("auditor").post(url(world_a, "task_action", pk=task.pk, action="resolve"),
                                          {"blocker": blocker.pk, "note": "x"}).status_code == 403
    assert world_b.client("owner").post(url(world_a, "task_action", pk=task.pk, action="precheck")).status_code == 404
    # an irreversible action without its confirmation goes to the confirmation page
    unconfirmed = client.post(url(world_a, "task_action", pk=task.pk, action="execute"), HTTP_REFERER="/back/")
    assert unconfirmed["Location"] == url(world_a, "confirm", pk=task.pk, action="execute")
    # a rule saying no comes back as a message, not an error page
    refused = client.post(url(world_a, "task_action", pk=task.pk, action="execute"), HTTP_REFERER="/back/",
                          data={"confirmation": confirmation_token(user=world_a.user("operator"), task_id=task.pk,
                                                                   action="execute")})
    assert refused.status_code == 302
    assert refused["Location"] == "/back/"


def test_document_upload_and_download(world_a, accounts):
    task = make_task(world_a, accounts)
    client = world_a.client("operator")
    with world_a.scope():
        item = TaskItem.objects.filter(task=task).first()
    client.post(url(world_a, "task_action", pk=task.pk, action="upload"),
                {"kind": "other", "item": item.pk, "file": upload()})
    with world_a.scope():
        document = task.documents.get()
    response = world_a.client("auditor").get(url(world_a, "document_download", pk=task.pk, document_id=document.pk))
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")


def test_execute_from_the_page(world_a, accounts):
    task = approve(world_a, run_precheck(world_a, make_task(world_a, accounts)))
    client = world_a.client("operator")
    confirm = client.get(url(world_a, "confirm", pk=task.pk, action="execute"))
    client.post(url(world_a, "task_action", pk=task.pk, action="execute"),
                {"confirmation": confirm.context["token"]})
    with world_a.scope():
        item = TaskItem.objects.filter(task=task).first()
    html = client.get(url(world_a, "item_detail", pk=task.pk, item_id=item.pk)).content.decode()
    assert url(world_a, "confirm", pk=task.pk, action="done") + f"?item={item.pk}" in html
    confirm = client.get(url(world_a, "confirm", pk=task.pk, action="done") + f"?item={item.pk}")
    assert 'name="receipt_number"' in confirm.content.decode()
    client.post(url(world_a, "task_action", pk=task.pk, action="done"),
                {"item": item.pk, "receipt_number": "X1", "confirmation": confirm.context["token"]})
    with world_a.scope():
        item.refresh_from_db()
    assert item.state == "done"
    assert item.receipt_number == "X1"


@pytest.mark.parametrize("n", [3, 60])
def test_detail_page_queries_are_flat(world_a, n, django_assert_max_num_queries):
    accounts = [SubAccountFactory(agency=world_a.agency, **clean(pending_orders=i % 2)) for i in range(n)]
    task = run_precheck(world_a, make_task(world_a, accounts, tier_rule="platform"))
    client = world_a.client("auditor")
    with django_assert_max_num_queries(22):
        assert client.get(url(world_a, "task_detail", pk=task.pk)).status_code == 200
    with django_assert_max_num_queries(14):
        assert client.get(url(world_a, "task_list")).status_code == 200


def test_create_from_the_sub_account_filter(world_a, world_b, django_capture_on_commit_callbacks):
    bili = [SubAccountFactory(agency=world_a.agency, platform="bilibili", **clean()) for _ in range(3)]
    SubAccountFactory(agency=world_a.agency, platform="douyin")
    SubAccountFactory(agency=world_b.agency, platform="bilibili")
    client = world_a.client("operator")
    page = client.get(url(world_a, "task_create") + f"?from_filter=1&platform=bilibili&ids={bili[0].pk}")
    assert "3 sub-accounts selected" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(url(world_a, "task_create"), {
            "from_filter": "1", "platform": "bilibili", "title": "B站清理", "strategy": "restrict"})
    assert response.status_code == 302
    with world_a.scope():
        task = ShutdownTask.objects.get()
        assert set(task.items.values_list("sub_account_id", flat=True)) == {a.pk for a in bili}


def test_planned_start_is_set_in_the_agency_time_zone(world_a, accounts):
    task = make_task(world_a, accounts, tier_rule="platform")
    with world_a.scope():
        tier = Tier.objects.filter(task=task).order_by("position").first()
    client = world_a.client("operator")
    client.post(url(world_a, "task_action", pk=task.pk, action="tier_update"),
                {"tier": tier.pk, "planned_start": "2026-12-01T09:30"})
    with world_a.scope():
        tier.refresh_from_db()
    assert tier.planned_start.isoformat() == "2026-12-01T01:30:00+00:00"
    html = client.get(url(world_a, "task_detail", pk=task.pk)).content.decode()
    assert 'value="2026-12-01T09:30"' in html
    bad = client.post(url(world_a, "task_action", pk=task.pk, action="tier_update"),
                      {"tier": tier.pk, "planned_start": "tomorrow"}, HTTP_REFERER="/x/")
    assert bad.status_code == 302


def test_pages_are_in_chinese_for_chinese_readers(world_a, accounts):
    task = run_precheck(world_a, make_task(world_a, accounts))
    html = world_a.client("operator").get(url(world_a, "task_detail", pk=task.pk),
                                          HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "重新预检" in html
    assert "批次" in html
