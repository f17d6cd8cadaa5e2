"""Issue 7: the whole journey of a new operator, in a real browser.

Log in → import a spreadsheet → create a tiered shutdown task from a selection → pre-checks,
blockers answered (resolution + re-check, appeal, exclusion, move to another tier) → approval at
every level by different people → owners sign (and one declines) on a phone → a tier executed
→ the deadlines and the reminders in the outbox. Screenshots of each page go to docs/screenshots/.

Selectors work whether or not the Chinese catalogue is compiled: form actions, ids, names,
and texts matched in both languages."""

import csv
import re
import time
from contextlib import contextmanager

import pytest
from django_scopes import scope, scopes_disabled

from agency.demo import DEMO_PASSWORD, seed_demo

from .conftest import login, shot

SLUG = "demo-mcn"
PREFIX = "e2ejourney"


def either(en: str, zh: str) -> re.Pattern:
    """A text in English or in Chinese (the page's language depends on the compiled catalogue)."""
    return re.compile(f"{re.escape(en)}|{re.escape(zh)}")


# (platform, id suffix, display name, owner, extra columns)
ROWS = [
    ("douyin", "a", "旅程测试·抖音甲", "旅程甲", {}),
    ("weibo", "b", "旅程测试·微博乙", "旅程乙", {}),
    ("douyin", "c", "旅程测试·抖音丙", "旅程丙", {"api_anomaly": "true"}),
    ("weibo", "d", "旅程测试·微博丁", "旅程丁", {"open_infringement_complaints": "1"}),
    ("weibo", "e", "旅程测试·微博戊", "旅程戊", {}),
]


@pytest.fixture
def journey_world(transactional_db, monkeypatch):
    from agency.models import Agency
    from approvals.services.policy import approval_policy_save
    from config.celery import app

    seed_demo(accounts_per_agency=30)
    agency = Agency.objects.get(slug=SLUG)
    with scope(agency=agency):
        approval_policy_save(agency=agency, name="端到端三级审批（运营→法务→财务）", levels=[
            {"name": "运营复核", "role": "operator", "mode": "any", "sla_hours": 24},
            {"name": "法务审核", "role": "legal", "mode": "any", "sla_hours": 48},
            {"name": "财务确认", "role": "finance", "mode": "any", "sla_hours": 24},
        ])
    # No delivery worker: messages stay in the outbox, where the test reads the owners' links and
    # codes (a delivered message has its secrets redacted). The pre-checks run inline instead.
    monkeypatch.setattr("notifications.services.delivery.publish_delivery", lambda **kwargs: None)
    old = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield agency
    app.conf.task_always_eager = old


@contextmanager
def session_of(browser, live_server, email: str, **context_args):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai", **context_args)
    context.set_default_timeout(15000)
    page = context.new_page()
    try:
        login(page, live_server, email, DEMO_PASSWORD)
        yield page
    finally:
        context.close()


def post_button(page, action: str):
    """The submit button of the form posting to a URL ending with `action` (not a second button of the
    form that posts elsewhere with `formaction`, such as 取消 next to 确认导入)."""
    return page.locator(f"form[action$='{action}'] button[type=submit]:not([formaction]), "
                        f"form[action$='{action}'] button:not([type]):not([formaction])")


def wait_task_settled(page, url: str, timeout: float = 20):
    """Reload the task page until the pre-checks are over (the state pill is not “checking”)."""
    deadline = time.monotonic() + timeout
    while True:
        pill = page.locator("h1 .pill").first
        state = (pill.get_attribute("class") or "")
        if "state-checking" not in state or time.monotonic() > deadline:
            return state
        time.sleep(0.3)
        page.goto(url)


def _delivered_text(prefix: str) -> str:
    """What the owner's phone received (links and codes are never readable in the database):
    deliver the pending messages, whatever the hour, and read the in-memory SMS outbox."""
    from django.test import override_settings
    from django.utils import timezone

    from notifications.models import OutboundMessage
    from notifications.services.delivery import messages_deliver_due
    from notifications.sms.backends import locmem

    with scopes_disabled():
        OutboundMessage.objects.filter(idempotency_key__startswith=prefix, status="pending").update(
            send_after=timezone.now())
    with override_settings(SMS_QUIET_HOURS_START=0, SMS_QUIET_HOURS_END=0):
        messages_deliver_due()
    texts = [m.text for m in locmem.outbox if m.idempotency_key.startswith(prefix)]
    assert texts, f"nothing was sent for {prefix}"
    return texts[-1]


def signing_path(owner: str) -> str:
    from approvals.models import SignatureRequest

    with scopes_disabled():
        req = SignatureRequest.objects.get(owner_name=owner)
    # The SMS carries the short form /s/<token> (its template holds the address, the variable the token).
    return re.search(r"(/sign/[A-Za-z0-9_\-]+/|/s/[a-z0-9]{20}\b)", _delivered_text(f"signing_link:{req.pk}:")).group(1)


def signing_code(owner: str) -> str:
    from approvals.models import SignatureRequest

    with scopes_disabled():
        req = SignatureRequest.objects.get(owner_name=owner)
    return re.search(r"(?<!\d)(\d{6})(?!\d)", _delivered_text(f"signing_code:{req.pk}:")).group(1)


def test_new_operator_journey(browser, desktop, phone, live_server, journey_world, tmp_path):
    base = f"{live_server.url}/a/{SLUG}"
    page = desktop

    # 1. Log in: the dashboard of the agency.
    login(page, live_server, f"operator@{SLUG}.cn", DEMO_PASSWORD)
    assert page.url.endswith(f"/a/{SLUG}/")
    assert page.get_by_role("heading", level=1).first.is_visible()
    shot(page, "dashboard")

    # 2. Import a spreadsheet built on the import template's headers.
    page.goto(f"{base}/sub-accounts/")
    shot(page, "sub-accounts")
    page.locator(f"a[href$='/a/{SLUG}/sub-accounts/import/']").first.click()
    page.wait_for_load_state()
    assert "/sub-accounts/import/" in page.url
    template = page.request.get(f"{base}/sub-accounts/import/template/?format=csv")
    assert template.ok
    headers = next(csv.reader(template.text().lstrip("\ufeff").splitlines()))
    assert {"platform", "platform_account_id", "display_name"} <= set(headers)
    sheet = tmp_path / "子账号导入.csv"
    with sheet.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=headers)
        writer.writeheader()
        for i, (platform, suffix, name, owner, extra) in enumerate(ROWS):
            row = {h: "" for h in headers}
            row.update({
                "platform": platform, "platform_account_id": f"{PREFIX}_{suffix}", "display_name": name,
                "kind": "personal", "region": "domestic", "country": "CN", "followers": str(1200 + i * 100),
                "status": "active", "owner_name": owner, "owner_mobile": f"+86138000{10000 + i:05d}",
                "owner_email": f"{PREFIX}.{suffix}@example.cn", "owner_relation": "creator",
                "live_streaming": "false", "unwithdrawn_earnings": "0", "pending_ad_revenue": "0",
                "hosted_topics": "0", "bound_mini_programs": "0", "third_party_authorisations": "0",
                "api_anomaly": "false", "mcn_contract_end": "2025-01-31", "open_infringement_complaints": "0",
                "pending_orders": "0", "blue_v": "false", "high_risk": "false",
            })
            row.update(extra)
            writer.writerow({k: v for k, v in row.items() if k in headers})
    page.set_input_files("input[type=file][name=file]", str(sheet))
    page.locator("main form[enctype='multipart/form-data'] button[type=submit]").click()
    page.wait_for_load_state()
    stats = page.locator(".import-summary .stat").all_inner_texts()
    assert stats[:4] == ["5", "0", "0", "0"], stats  # to create, to update, unchanged, errors
    assert page.locator("table tbody tr").filter(has_text="旅程测试·抖音丙").count() == 1
    shot(page, "import-preview")
    post_button(page, "/confirm/").click()
    page.wait_for_load_state()
    assert page.get_by_text(re.compile(r"(5 created|新建 5 个)")).first.is_visible()

    # 3. Select the imported accounts and create a tiered shutdown task.
    page.goto(f"{base}/sub-accounts/?search={PREFIX}")
    rows = page.locator("table tbody tr")
    assert rows.count() == 5
    for checkbox in page.locator("input[name=ids]").all():
        checkbox.check()
    page.locator("#bulk-form button[formaction*='/tasks/new/']").click()
    page.wait_for_load_state()
    assert "/tasks/new/" in page.url
    assert page.get_by_text(either("5 sub-accounts selected", "5")).first.is_visible()
    page.fill("#id_title", "旅程测试：合约到期账号关停")
    page.fill("#id_reason", "端到端测试：新运营的完整流程。")
    page.select_option("#id_tier_rule", "platform")
    page.locator("main form.card button[type=submit]").click()
    page.wait_for_load_state()
    task_url = page.url.split("?")[0].split("#")[0]
    assert re.search(r"/tasks/\d+/$", task_url), task_url
    task_id = int(task_url.rstrip("/").rsplit("/", 1)[1])
    state = wait_task_settled(page, task_url)

    # 4. Pre-checks: two accounts are blocked; the tiers follow the platform order.
    assert "state-blocked" in state, state
    assert page.locator("td a[href^='?tier=']").count() == 2
    blockers_table = page.locator("#blockers + div table tbody tr")
    assert blockers_table.count() == 2
    assert blockers_table.filter(has_text="旅程测试·抖音丙").count() == 1
    assert blockers_table.filter(has_text="旅程测试·微博丁").count() == 1
    shot(page, "task")
    page.locator("#blockers").scroll_into_view_if_needed()
    shot(page, "blockers")

    def open_item(name: str):
        page.goto(task_url)
        page.locator("table tbody tr td a", has_text=name).first.click()
        page.wait_for_load_state()
        assert "/items/" in page.url

    # The technical blocker: record how it was resolved, then check the account again.
    open_item("旅程测试·抖音丙")
    page.fill("form[action$='/do/resolve/'] input[name=note]", "已在开放平台排查接口异常，调用已恢复正常。")
    post_button(page, "/do/resolve/").click()
    page.wait_for_load_state()
    assert page.locator(".blocker .pill.state-resolved").count() == 1
    shot(page, "blocker-resolved")
    post_button(page, "/do/recheck/").click()
    page.wait_for_load_state()
    page.reload()
    assert page.locator("h1 .pill.state-ready").count() == 1

    # The complaint: record the appeal (ticket number), then leave the account out of this task.
    open_item("旅程测试·微博丁")
    page.fill("form[action$='/do/appeal/'] input[name=note]", "客服工单 #A-20260315，已提交内容申诉。")
    post_button(page, "/do/appeal/").click()
    page.wait_for_load_state()
    assert page.locator(".blocker .pill.state-appealed").count() == 1
    page.fill("form[action$='/do/exclude/'] input[name=reason]", "投诉处理完之前不关停")
    post_button(page, "/do/exclude/").click()
    page.wait_for_load_state()
    assert page.locator("h1 .pill.state-excluded").count() == 1

    # Move one weibo account into the first tier.
    open_item("旅程测试·微博戊")
    first_tier = page.locator("#move-tier option").first
    page.select_option("#move-tier", first_tier.get_attribute("value"))
    post_button(page, "/do/move/").click()
    page.wait_for_load_state()
    assert page.locator("#move-tier option:checked").inner_text().startswith("1.")

    page.goto(task_url)
    state = wait_task_settled(page, task_url)
    assert "state-ready" in state, state
    open_rows = page.locator("#blockers + div table tbody tr")
    assert open_rows.filter(has_text="旅程测试·抖音丙").count() == 0  # resolved and checked again
    # The excluded account's appealed blocker is no longer open work: it is not listed any more.
    assert open_rows.filter(has_text="旅程测试·微博丁").count() == 0

    # 5. Submit for approval; three levels, three different people.
    page.fill("form[action$='/submit/'] input[name=comment]", "4 个账号，请审批。")
    post_button(page, "/submit/").click()
    page.wait_for_load_state()
    assert page.locator("#approval .approval-levels li").count() == 3
    assert page.locator("form[action$='/approve/']").count() == 0  # the submitter does not approve
    for email, comment in ((f"operator2@{SLUG}.cn", "名单核对无误"), (f"legal@{SLUG}.cn", "合约均已到期"),
                           (f"finance@{SLUG}.cn", "无未结算款项")):
        with session_of(browser, live_server, email) as approver:
            approver.goto(task_url)
            approver.fill("form[action$='/approve/'] input[name=comment]", comment)
            post_button(approver, "/approve/").click()
            approver.wait_for_load_state()
            assert approver.locator("#approval").get_by_text(comment).first.is_visible()
            if email.startswith("legal"):
                approver.locator("#approval").scroll_into_view_if_needed()
                shot(approver, "approval")
    page.goto(task_url)
    assert page.locator("h1 .pill.state-approved").count() == 1
    assert page.locator("#approval .approval-levels li.level-approved").count() == 3
    page.locator("#approval").scroll_into_view_if_needed()
    shot(page, "approval-done")

    # 6. Owners sign on their phones (one declines) with the link and code their phones received.
    signer_names = {"旅程甲": "sign", "旅程乙": "sign", "旅程丙": "sign", "旅程戊": "decline"}
    for owner, what in signer_names.items():
        phone.goto(f"{live_server.url}{signing_path(owner)}")
        assert phone.get_by_text(owner).first.is_visible()
        if owner == "旅程甲":
            shot(phone, "signing-phone")
        if what == "sign":
            phone.locator("button[name=channel][value=sms]").click()
            phone.wait_for_load_state()
            phone.fill("#code", signing_code(owner))
            if owner == "旅程甲":
                shot(phone, "signing-phone-code")
            phone.locator("form.sign-confirm button[type=submit]").click()
            phone.wait_for_load_state()
            assert phone.get_by_role("heading", name=either("Thank you: your signature is recorded.",
                                                            "谢谢：你的签署已记录。")).is_visible()
            if owner == "旅程甲":
                shot(phone, "signing-phone-done")
        else:
            phone.locator("button[name=channel][value=sms]").click()  # declining needs the code too
            phone.wait_for_load_state()
            phone.locator("details summary").click()
            phone.fill("#reason", "这个账号还有品牌合作没结束，暂不同意。")
            phone.fill("#decline-code", signing_code(owner))
            phone.locator("details form button[type=submit]").click()
            phone.wait_for_load_state()
            assert phone.get_by_role("heading", name=either("You declined.", "你已拒绝。")).is_visible()
            shot(phone, "signing-phone-declined")
        # the page fits the phone: nothing wider than the viewport
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390

    page.goto(task_url)
    signatures = page.locator("#approval table tbody tr")
    assert signatures.count() == 4
    assert signatures.locator(".pill.state-signed").count() == 3
    assert signatures.locator(".pill.state-declined").count() == 1

    # 7. Prepare (R9.1): each phase ticked for every account from the task page's checklist (the
    # tier would not open before), then execute the first tier: every account in it is marked done.
    for phase in ("export_interaction", "backup_drafts", "remove_authorisations"):
        page.goto(task_url)
        form = page.locator("#preparation-form")
        form.locator("select[name=phase]").select_option(phase)
        form.locator("input[name=note]").fill("旅程：已完成")
        form.locator("input[name=all_items]").check()
        form.locator("button[type=submit]").click()
        page.wait_for_load_state()
    assert page.locator("#preparation .preparation-checklist .pill.bad").count() == 0
    page.goto(task_url)
    page.locator("a.confirm-link[href$='/confirm/execute/']").click()  # irreversible: confirmed first
    page.wait_for_load_state()
    post_button(page, "/do/execute/").click()
    page.wait_for_load_state()
    assert page.locator("h1 .pill.state-executing").count() == 1
    page.goto(f"{task_url}?state=executing#items")
    executing = [a.inner_text() for a in page.locator("#items + form + .bulk + div table tbody tr td:first-child a").all()]
    assert executing, "the first tier has no account being executed"
    for n, name in enumerate(executing):
        page.goto(f"{task_url}?state=executing#items")
        page.locator("#items + form + .bulk + div table tbody tr td a", has_text=name).first.click()
        page.wait_for_load_state()
        page.locator("a.confirm-link[href*='/confirm/done/']").click()
        page.wait_for_load_state()
        page.fill("form[action$='/do/done/'] input[name=receipt_number]", f"HZ-2026-{n:04d}")
        post_button(page, "/do/done/").click()
        page.wait_for_load_state()
        assert page.locator("h1 .pill.state-done").count() == 1
        assert page.locator(".ok-note").get_by_text(f"HZ-2026-{n:04d}").is_visible()
    page.goto(task_url)
    first_tier_row = page.locator("td a[href^='?tier=']").first.locator("xpath=ancestor::tr")
    cells = first_tier_row.locator("td.num").all_inner_texts()  # accounts, done, failed, blocked
    assert cells[1:] == [str(len(executing)), "0", "0"], cells
    assert first_tier_row.locator(".pill.state-complete").count() == 1  # the tier completed by itself
    shot(page, "task-executing")

    # 8. The deadlines that follow, and the reminders waiting in the outbox.
    page.goto(f"{base}/deadlines/")
    assert page.locator("table tbody tr").filter(has_text=executing[0]).count() >= 1
    shot(page, "deadlines")
    page.goto(f"{base}/deadlines/tasks/{task_id}/")
    assert page.get_by_text(executing[0]).first.is_visible()
    shot(page, "task-timeline")
    page.goto(f"{base}/notifications/outbox/?kind=reminder")
    reminders = page.locator("table tbody tr").filter(has_text=re.compile("截止日期提醒|Deadline reminder"))
    assert reminders.count() >= 1
    assert reminders.locator(".pill.state-pending").count() >= 1
    shot(page, "outbox")
