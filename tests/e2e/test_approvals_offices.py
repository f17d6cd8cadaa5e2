"""Issue 15 in a real browser: an approval handed over (转交), approved with an attachment, sent
back to the previous level (退回上一级), approved again, and the last level decided on a phone
from the bar fixed at the bottom; the group robot's messages for those events recorded in the
outbox; the unread count in the top bar goes down when a notice is opened."""

import json
import re
from contextlib import contextmanager

import pytest
from django_scopes import scope

from tests.factories import PASSWORD

from .conftest import login

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def office(transactional_db, monkeypatch, tmp_path):
    from approvals.services.decisions import task_submit
    from approvals.services.policy import approval_policy_save
    from notifications.robots import robot_webhook_save
    from tests.builders import make_task
    from tests.conftest import _make_world

    # No delivery worker: the robot's messages stay in the outbox, where the page lists them.
    monkeypatch.setattr("notifications.services.delivery.publish_delivery", lambda **kwargs: None)
    world = _make_world("office-mcn")
    with scope(agency=world.agency):
        approval_policy_save(agency=world.agency, name="两级审批", levels=[
            {"name": "运营复核", "role": "operator", "mode": "any", "sla_hours": 24},
            {"name": "财务确认", "role": "finance", "mode": "any", "sla_hours": 24}])
        robot_webhook_save(agency=world.agency, name="审批群", platform="feishu",
                           url="https://open.feishu.cn/open-apis/bot/v2/hook/e2e-token", secret="e2e-secret",
                           events=["approval_waiting", "approval_decided"])
    task = make_task(world, items=3, title="端到端审批任务")
    with scope(agency=world.agency):
        task_submit(agency=world.agency, task=task, actor=world.user("admin"))
    attachment = tmp_path / "批示.png"
    attachment.write_bytes(PNG)
    return world, task, attachment


@contextmanager
def session_of(browser, live_server, email, **context_args):
    args = {"viewport": {"width": 1366, "height": 900}, "locale": "zh-CN", "timezone_id": "Asia/Shanghai",
            **context_args}
    context = browser.new_context(**args)
    context.set_default_timeout(15000)
    page = context.new_page()
    try:
        login(page, live_server, email, PASSWORD)
        yield page
    finally:
        context.close()


def deliver() -> list:
    """What a delivery worker does, with Feishu stubbed (no network): returns the robot requests."""
    import responses

    from notifications.services.delivery import messages_deliver_due

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.POST, "https://open.feishu.cn/open-apis/bot/v2/hook/e2e-token",
                 json={"code": 0, "msg": "success"})
        messages_deliver_due()
        return [c.request for c in mock.calls]


def either(en: str, zh: str) -> re.Pattern:
    return re.compile(f"{re.escape(en)}|{re.escape(zh)}")


def test_hand_over_attach_send_back_and_decide_on_a_phone(browser, live_server, office):
    world, task, attachment = office
    url = f"{live_server.url}/a/{world.agency.slug}/approvals/tasks/{task.pk}/approval/"
    owner = world.user("owner")

    # The operator hands the decision over to the agency owner.
    with session_of(browser, live_server, world.user("operator").email) as page:
        page.goto(url)
        assert page.get_by_text(either("Followers in total", "粉丝总数")).count() >= 1
        page.select_option("form[action$='/hand_over/'] select[name=user]", str(owner.pk))
        page.fill("form[action$='/hand_over/'] input[name=comment]", "我出差，请负责人审批")
        page.click("form[action$='/hand_over/'] button[type=submit]")
        page.wait_for_load_state("networkidle")
        assert page.locator(".msg-success").count() == 1
    robot_calls = deliver()

    # The owner sees the notice in the top bar, opens it (marked read), approves with an attachment.
    with session_of(browser, live_server, owner.email) as page:
        page.goto(f"{live_server.url}/a/{world.agency.slug}/")
        badge = page.locator(".notices-link .badge")
        assert badge.count() == 1 and int(badge.inner_text()) >= 1
        before = int(badge.inner_text())
        page.goto(f"{live_server.url}/a/{world.agency.slug}/notifications/")
        page.locator("a.note-link").first.click()
        page.wait_for_load_state("networkidle")
        assert "/approval/" in page.url or "/tasks/" in page.url
        after = page.locator(".notices-link .badge")
        assert after.count() == 0 or int(after.inner_text()) == before - 1
        page.goto(url)
        page.fill("#decision-comment", "同意，见批示")
        page.set_input_files("#decision-files", str(attachment))
        page.click(".decision-bar button[formaction$='/approve/']")
        page.wait_for_load_state("networkidle")
        assert page.locator(".msg-success").count() == 1
        assert page.locator("a.attachment", has_text="批示.png").count() == 1
    robot_calls += deliver()

    # Finance sends it back to the previous level, with the reason.
    with session_of(browser, live_server, world.user("finance").email) as page:
        page.goto(url)
        page.fill("form[action$='/send_back/'] input[name=comment]", "请补充合同终止证明")
        page.click("form[action$='/send_back/'] button[type=submit]")
        page.wait_for_load_state("networkidle")
        assert page.locator(".msg-success").count() == 1
        assert page.locator(".approval-levels .superseded").count() == 1
    robot_calls += deliver()

    # The owner decides again.
    with session_of(browser, live_server, owner.email) as page:
        page.goto(url)
        page.fill("#decision-comment", "已补充")
        page.click(".decision-bar button[formaction$='/approve/']")
        page.wait_for_load_state("networkidle")
        assert page.locator(".msg-success").count() == 1

    # Finance approves on a phone: the decision buttons sit in a bar fixed at the bottom.
    phone = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
             "has_touch": True}
    with session_of(browser, live_server, world.user("finance").email, **phone) as page:
        page.goto(url)
        bar = page.locator(".decision-bar")
        assert bar.evaluate("el => getComputedStyle(el).position") == "fixed"
        box = bar.bounding_box()
        assert box["y"] + box["height"] >= 844 - 2 and box["y"] > 600  # at the bottom, in reach of a thumb
        page.fill("#decision-comment", "同意")
        bar.locator("button[formaction$='/approve/']").click()
        page.wait_for_load_state("networkidle")
        assert page.locator(".msg-success").count() == 1

    task.refresh_from_db()
    assert task.state == "approved"
    robot_calls += deliver()
    cards = [json.loads(r.body)["card"]["header"]["title"]["content"] for r in robot_calls]
    assert sum("端到端审批任务" in c for c in cards) == len(cards) >= 4
    assert all("sign" in json.loads(r.body) for r in robot_calls)

    # The robot's messages for these events are in the outbox, the address never shown.
    with session_of(browser, live_server, owner.email) as page:
        page.goto(f"{live_server.url}/a/{world.agency.slug}/notifications/outbox/?channel=robot")
        html = page.content()
        assert "e2e-token" not in html and "e2e-secret" not in html
        assert page.get_by_text("审批群").count() >= 4  # waiting (each level opened), approved
