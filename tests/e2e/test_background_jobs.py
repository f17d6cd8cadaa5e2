"""Issue 12: a big import runs as a background job. In a real browser (zh-hans, under the
site's CSP): upload a file over the (lowered) threshold, confirm, land on the job's page with
its progress bar, and see htmx's polling turn it into the result once a worker has run it."""

import csv

import pytest
from django_scopes import scopes_disabled

from agency.demo import DEMO_PASSWORD, seed_demo

from .conftest import login

SLUG = "demo-mcn"
ROWS = 12


@pytest.fixture
def jobs_world(transactional_db, settings, monkeypatch):
    settings.IMPORT_JOB_THRESHOLD_ROWS = 5
    settings.JOB_POLL_MS = 300
    seed_demo(accounts_per_agency=5)
    published = []
    # No worker in the test: the job stays queued until the test runs it (as a worker would).
    monkeypatch.setattr(
        "agency.services.jobs.task_publish", lambda name, **kw: published.append(kw["kwargs"])
    )
    return published


def test_a_big_import_shows_progress_then_the_result(desktop, live_server, jobs_world, tmp_path):
    from agency.models import Agency, Job
    from agency.services.jobs import job_run

    page = desktop
    login(page, live_server, "owner@demo-mcn.cn", DEMO_PASSWORD)
    sheet = tmp_path / "大批量导入.csv"
    with sheet.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["platform", "platform_account_id", "display_name"])
        for i in range(ROWS):
            writer.writerow(["douyin", f"bg_job_{i:03d}", f"后台导入{i}"])
    page.goto(f"{live_server.url}/a/{SLUG}/sub-accounts/import/")
    page.set_input_files("input[type=file][name=file]", str(sheet))
    page.locator("main form[enctype='multipart/form-data'] button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator(".import-summary .stat").first.inner_text() == str(ROWS)
    page.locator(f"form[action*='/a/{SLUG}/sub-accounts/import/'] button[type=submit]").first.click()
    page.wait_for_url(f"**/a/{SLUG}/jobs/*/")
    status = page.locator("#job-status")
    assert "排队中" in status.inner_text()  # queued, in words
    assert page.locator("#job-status progress").count() == 1
    assert page.locator("nav.sidenav a[aria-current=page]").inner_text() == "我的后台任务"
    assert len(jobs_world) == 1

    # A worker runs it; the page, polled by htmx, shows the outcome without a reload.
    agency = Agency.objects.get(slug=SLUG)
    assert job_run(agency=agency, job_id=jobs_world[0]["job_id"]) == Job.State.SUCCEEDED
    page.locator("#job-status .pill.state-succeeded").wait_for()
    text = status.inner_text()
    assert "已完成" in text and str(ROWS) in page.locator("#job-status .stat").first.inner_text()
    assert page.locator("#job-status progress").count() == 0
    with scopes_disabled():
        from agency.models import SubAccount

        assert (
            SubAccount.objects.filter(agency=agency, platform_account_id__startswith="bg_job_").count()
            == ROWS
        )
