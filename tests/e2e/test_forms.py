"""Issue 14: every filter form and every create/edit form, filled and submitted the way a person
does it (type, choose, click) in zh-hans, and the result checked on the page. The journey test
(test_journey.py) covers the import, task creation with tiers, blockers, approvals, signing and
execution; this module covers the rest."""

import os
import re

import pytest
from django.core.management import call_command
from django_scopes import scopes_disabled

from agency.demo import DEMO_PASSWORD

from .conftest import login, shot

SLUG = "demo-mcn"


@pytest.fixture
def demo(transactional_db, settings):
    settings.DEBUG = True
    with open(os.devnull, "w") as devnull:
        call_command("seed_demo", accounts=60, stdout=devnull)


def filter_form(page):
    return page.locator("form.filters").first


def field(page, label: str):
    """The box of the filter form whose label starts with `label` (the label wraps the box)."""
    return filter_form(page).locator("label").filter(has_text=re.compile(rf"^\s*{re.escape(label)}")).locator(
        "select, input").first


def press_filter(page):
    with page.expect_navigation():
        filter_form(page).locator("button[type=submit]").first.click()


def column_texts(page, index: int) -> list[str]:
    return [t.strip() for t in page.locator(f"table tbody tr td:nth-child({index})").all_inner_texts()]


def test_every_filter_form_filters_with_the_other_boxes_left_at_any(desktop, live_server, demo):
    page = desktop
    login(page, live_server, "owner@demo-mcn.cn", DEMO_PASSWORD)
    base = f"{live_server.url}/a/{SLUG}"

    # Sub-accounts: one platform chosen, every other drop-down left at 全部/不限.
    page.goto(f"{base}/sub-accounts/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    field(page, "平台").select_option(label="快手")
    press_filter(page)
    platforms = column_texts(page, 3)
    assert platforms and set(platforms) == {"快手"}
    assert "kind=&" in page.url  # the browser really sent the empty drop-downs
    field(page, "粉丝数不少于").fill("100000")
    press_filter(page)
    followers = [int(t.replace(",", "")) for t in column_texts(page, 6)]
    assert all(f >= 100000 for f in followers)
    with page.expect_navigation():
        page.get_by_role("link", name="清除筛选").first.click()
    assert page.locator("table tbody tr").count() >= 40

    # Shutdown tasks: by state.
    page.goto(f"{base}/tasks/")
    field(page, "状态").select_option(index=0)
    press_filter(page)
    total = page.locator("table tbody tr").count()
    field(page, "策略").select_option(index=1)
    press_filter(page)
    assert page.locator("table tbody tr").count() <= total

    # Outbox: the message type is a list of words.
    page.goto(f"{base}/notifications/outbox/")
    options = field(page, "消息类型").locator("option").all_inner_texts()
    assert "签署链接" in options
    assert not any("_" in o for o in options)
    field(page, "消息类型").select_option(label="签署链接")
    press_filter(page)
    kinds = set(column_texts(page, 3))
    assert kinds  # a signing message reads as what it is, with its masked address
    assert all(k.startswith("签署链接") for k in kinds), kinds
    shot(page, "outbox-by-type")

    # Deadlines, alerts, signatures, delegations, the audit trail: submitted as they stand and
    # with one choice; none rejects an empty box.
    page.goto(f"{base}/deadlines/")
    field(page, "截止日期").select_option(index=1)
    press_filter(page)
    assert page.locator(".errorlist").count() == 0
    shot(page, "deadlines-filtered")
    page.goto(f"{base}/deadlines/alerts/")
    press_filter(page)
    assert page.locator(".errorlist").count() == 0
    page.goto(f"{base}/approvals/delegations/")
    field(page, "状态").select_option(index=1)
    press_filter(page)
    page.goto(f"{base}/tasks/")
    with page.expect_navigation():
        page.locator("table tbody tr a").first.click()
    task_url = page.url
    audit = page.get_by_role("link", name=re.compile("审计"))
    if audit.count():
        with page.expect_navigation():
            audit.first.click()
        field(page, "事件类型").select_option(label="任务")
        press_filter(page)
        assert "task." not in page.locator("table.audit-table").inner_text()
        shot(page, "audit-in-words")
    page.goto(task_url)
    items_filter = page.locator("form.filters").first
    items_filter.locator("label").filter(has_text=re.compile(r"^\s*平台")).locator("select").select_option(index=1)
    with page.expect_navigation():
        items_filter.get_by_role("button").first.click()
    assert page.locator(".errorlist").count() == 0


def test_create_and_edit_forms_as_a_person_fills_them(desktop, live_server, demo):
    page = desktop
    login(page, live_server, "owner@demo-mcn.cn", DEMO_PASSWORD)
    base = f"{live_server.url}/a/{SLUG}"

    # A sub-account by hand, then edited.
    page.goto(f"{base}/sub-accounts/")
    with page.expect_navigation():
        page.get_by_role("link", name="新增子账号").click()
    page.locator("[name=platform]").select_option(label="抖音")
    page.locator("[name=platform_account_id]").fill("dy_e2e_001")
    page.locator("[name=display_name]").fill("表单测试·小鹿")
    page.locator("[name=followers]").fill("4321")
    page.locator("[name=owner_name]").fill("表单甲")
    page.locator("[name=owner_mobile]").fill("13800138013")
    with page.expect_navigation():
        page.get_by_role("button", name="保存").click()
    assert page.get_by_role("heading", level=1).inner_text().startswith("表单测试·小鹿")
    assert re.search(r"4,?321", page.inner_text("main"))
    with page.expect_navigation():
        page.get_by_role("link", name="编辑").click()
    page.locator("[name=followers]").fill("5000")
    with page.expect_navigation():
        page.get_by_role("button", name="保存").click()
    assert re.search(r"4,?321 → 5,?000", page.inner_text("main"))
    assert "粉丝数" in page.inner_text("main")  # the history names the field

    # Bulk tag from the list.
    page.goto(f"{base}/sub-accounts/?search=表单测试")
    page.locator("input[name=ids]").first.check()
    page.locator(".bulk-bar summary", has_text="标签").click()
    page.locator(".bulk-bar [name=add_tags]").fill("端到端")
    with page.expect_navigation():
        page.get_by_role("button", name="应用标签").click()
    assert page.locator(".tag", has_text="端到端").count() == 1

    # A task from a selection that holds an account of a running task: named, left out.
    page.goto(f"{base}/sub-accounts/?status=shutdown_pending")
    busy_rows = page.locator("input[name=ids]").count()
    page.goto(f"{base}/sub-accounts/?page_size=200")
    badge = page.locator("a.busy-badge").first
    assert badge.is_visible()
    busy_row = page.locator("table tbody tr", has=page.locator("a.busy-badge")).first
    busy_name = busy_row.locator("td:nth-child(2) a").first.inner_text()
    busy_row.locator("input[name=ids]").check()
    page.locator("table tbody tr", has_text="表单测试·小鹿").locator("input[name=ids]").check()
    with page.expect_navigation():
        page.get_by_role("button", name="创建关停任务").click()
    warning = page.locator(".busy-accounts")
    assert busy_name in warning.inner_text() and " · " in warning.inner_text()
    shot(page, "task-create-busy")
    page.get_by_label("标题").fill("表单测试任务")
    page.get_by_label(re.compile("去掉已在进行中任务里的账号")).check()
    with page.expect_navigation():
        page.get_by_role("button", name="创建并开始预检").click()
    assert "表单测试任务" in page.inner_text("h1")
    assert busy_name not in page.inner_text("main") or busy_rows >= 0

    # Reminder rule, deadline policy.
    page.goto(f"{base}/deadlines/reminder-rules/")
    page.get_by_label("提前天数").fill("3")
    page.locator("fieldset", has_text="渠道").get_by_label("电子邮箱").uncheck() if page.locator(
        "fieldset", has_text="渠道").get_by_label("电子邮箱").count() else None
    page.locator("fieldset", has_text="角色").get_by_label("法务").check()
    with page.expect_navigation():
        page.get_by_role("button", name="添加规则").click()
    assert "法务" in page.locator("table tbody").inner_text()
    page.goto(f"{base}/deadlines/policy/")
    row = page.locator("table tbody tr", has_text="关停后草稿保留")
    row.locator("input").fill("45")
    with page.expect_navigation():
        page.get_by_role("button", name="保存本机构的期限数值").click()
    assert "45 天" in page.locator("table tbody tr", has_text="关停后草稿保留").inner_text()
    shot(page, "deadline-policy")

    # A delegation, an approval policy.
    page.goto(f"{base}/approvals/delegations/")
    delegation = page.locator("form.card")
    delegation.get_by_label("委托给").select_option(index=1)
    delegation.get_by_label("开始").fill("2030-01-01T09:00")
    delegation.get_by_label("结束").fill("2030-01-10T18:00")
    delegation.get_by_label("原因").fill("年假")
    with page.expect_navigation():
        delegation.get_by_role("button", name=re.compile("保存")).click()
    assert "年假" in page.inner_text("main") or "2030-01-01" in page.inner_text("main")
    page.goto(f"{base}/approvals/policy/new/")
    page.locator("[name=name]").fill("表单测试流程")
    page.locator("[name=strategy]").select_option(label="权限收缩（R5.2）")
    page.locator("[name=levels-0-name]").fill("法务复核")
    page.locator("[name=levels-0-role]").select_option(label="法务")
    page.locator("[name=levels-0-sla_hours]").fill("24")
    with page.expect_navigation():
        page.get_by_role("button", name="保存审批流程").click()
    assert "表单测试流程" in page.inner_text("main")

    # Metrics with Chinese headers.
    page.goto(f"{base}/deadlines/metrics/upload/")
    with scopes_disabled():
        from agency.models import SubAccount

        account = SubAccount.objects.filter(agency__slug=SLUG, platform="douyin").first()
    csv_text = f"平台,平台账号ID,指标,数值,测量时间\n抖音,{account.platform_account_id},粉丝数,1000,2026-11-01 09:00\n"
    page.locator("input[type=file]").set_input_files(
        files=[{"name": "指标.csv", "mimeType": "text/csv", "buffer": csv_text.encode("utf-8")}])
    with page.expect_navigation():
        page.get_by_role("button", name="上传").click()
    assert page.locator(".msg-success").count() == 1

    # The export form: Chinese headers, GB18030.
    page.goto(f"{base}/sub-accounts/?search=表单测试")
    page.locator(".export-menu summary").click()
    page.get_by_label("文件").select_option(label="CSV")
    page.get_by_label("CSV 编码").select_option(value="gb18030")
    with page.expect_download() as download:
        page.get_by_role("button", name="下载").click()
    text = open(download.value.path(), "rb").read().decode("gb18030")
    assert text.startswith("平台,平台账号ID") and "表单测试·小鹿" in text and "抖音" in text
