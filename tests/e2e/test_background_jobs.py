"""Issue 12: a big import runs as a background job. In a real browser (zh-hans, under the
site's CSP): upload a file over the (lowered) threshold, confirm, land on the job's page with
its progress bar; htmx polling turns it into what the import would do, then (after
confirming) into the result once a worker has run each job."""

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
    published = jobs_world
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

    # 1. Over the threshold, the file is checked by a job: its page shows a progress bar.
    page.wait_for_url(f"**/a/{SLUG}/jobs/*/")
    status = page.locator("#job-status")
    assert "排队中" in status.inner_text()  # queued, in words
    assert page.locator("#job-status progress").count() == 1
    assert page.locator("nav.sidenav a[aria-current=page]").inner_text() == "我的后台任务"
    agency = Agency.objects.get(slug=SLUG)
    assert job_run(agency=agency, job_id=published[-1]["job_id"]) == Job.State.SUCCEEDED
    # htmx's polling turns the bar into what the import would do, without a reload.
    page.locator("#job-confirm-import").wait_for()
    assert page.locator("#job-status .stat").first.inner_text() == str(ROWS)  # to create
    assert page.locator("#job-status progress").count() == 0

    # 2. Confirming runs the import as a job too; once a worker has run it, the page shows the counts.
    check_url = page.url
    page.locator("#job-confirm-import button[type=submit]:not([formaction])").click()  # not 取消
    page.wait_for_url(lambda url: "/jobs/" in url and url != check_url)
    page.locator("#job-status progress").wait_for()
    assert len(published) == 2
    assert job_run(agency=agency, job_id=published[-1]["job_id"]) == Job.State.SUCCEEDED
    page.locator("#job-status .pill.state-succeeded").wait_for()
    assert "已完成" in status.inner_text()
    assert page.locator("#job-status .stat").first.inner_text() == str(ROWS)  # created
    with scopes_disabled():
        from agency.models import SubAccount

        assert (
            SubAccount.objects.filter(agency=agency, platform_account_id__startswith="bg_job_").count()
            == ROWS
        )
