import os

import pytest
from django.core.management import call_command

from agency.demo import DEMO_PASSWORD

from .conftest import login, shot


@pytest.fixture
def demo(transactional_db, settings):
    """The full demo of `make run` (tasks, approvals, signatures, an executed tier, deadlines)."""
    settings.DEBUG = True
    with open(os.devnull, "w") as devnull:
        call_command("seed_demo", accounts=60, stdout=devnull)


def test_operator_logs_in_sees_dashboard_and_sub_accounts(desktop, live_server, demo):
    page = desktop
    login(page, live_server, "owner@demo-mcn.cn", DEMO_PASSWORD)
    assert page.url.endswith("/a/demo-mcn/")
    assert page.get_by_role("heading", level=1).first.is_visible()
    assert page.locator(".stat-card").first.is_visible()
    shot(page, "dashboard-demo")
    page.get_by_role("navigation", name="主导航").or_(page.get_by_role("navigation", name="Main")).get_by_role(
        "link", name="子账号").or_(page.get_by_role("link", name="Sub-accounts")).first.click()
    page.wait_for_load_state("networkidle")
    assert "/a/demo-mcn/sub-accounts/" in page.url
    assert page.locator("table tbody tr").count() >= 10
    shot(page, "sub-accounts-demo")


def test_language_switch_to_english_and_back(desktop, live_server, demo):
    page = desktop
    login(page, live_server, "operator@demo-mcn.cn", DEMO_PASSWORD)
    with page.expect_navigation():
        page.select_option("#lang-select", "en")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("link", name="Sub-accounts").first.is_visible()
    with page.expect_navigation():
        page.select_option("#lang-select", "zh-hans")
    assert page.locator("html").get_attribute("lang") == "zh-hans"


def test_another_agency_is_not_found_in_the_browser(desktop, live_server, demo):
    page = desktop
    login(page, live_server, "owner@rival-mcn.cn", DEMO_PASSWORD)
    response = page.goto(f"{live_server.url}/a/demo-mcn/sub-accounts/")
    assert response.status == 404
