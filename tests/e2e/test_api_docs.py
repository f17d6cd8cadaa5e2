"""Swagger UI and Redoc render their operations in Debian's chromium under the project's own
Content-Security-Policy, and no request leaves the machine."""

import pytest

from ..conftest import _make_world
from ..factories import PASSWORD
from .conftest import login


@pytest.fixture
def admin(transactional_db):
    world = _make_world("alpha-mcn")
    return world.users["admin"]


def watch(page, live_server):
    """Every request the page makes that is not to this server, and every CSP complaint about a script."""
    outside, blocked = [], []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(
        (live_server.url, "data:", "blob:")) else None)
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text and (
        "script" in m.text) else None)
    return outside, blocked


def test_swagger_ui_renders_operations_under_the_csp(desktop, live_server, admin):
    page = desktop
    outside, blocked = watch(page, live_server)
    login(page, live_server, admin.email, PASSWORD)
    response = page.goto(f"{live_server.url}/api/v1/docs/")
    assert "script-src 'self' 'nonce-" in response.headers["content-security-policy"]
    page.locator(".opblock-summary").first.wait_for(state="visible")
    assert page.locator(".opblock-summary").count() > 50
    assert page.get_by_text("/api/v1/agencies/{agency_slug}/sub-accounts/import/").first.is_visible()
    page.wait_for_load_state("networkidle")
    assert outside == []
    assert blocked == []


def test_redoc_renders_operations_under_the_csp(desktop, live_server, admin):
    page = desktop
    outside, blocked = watch(page, live_server)
    login(page, live_server, admin.email, PASSWORD)
    response = page.goto(f"{live_server.url}/api/v1/redoc/")
    assert "script-src 'self' 'nonce-" in response.headers["content-security-policy"]
    operation = page.locator("[data-section-id^='operation/']")
    operation.first.wait_for(state="attached")
    assert operation.count() > 50
    heading = page.locator("h2", has_text="Import sub-accounts from a CSV or XLSX file").first
    heading.scroll_into_view_if_needed()
    assert heading.is_visible()
    page.wait_for_load_state("networkidle")
    assert outside == []
    assert blocked == []


def test_docs_send_an_anonymous_visitor_to_the_login_page(desktop, live_server, admin):
    page = desktop
    page.goto(f"{live_server.url}/api/v1/docs/")
    assert "/accounts/login/" in page.url
