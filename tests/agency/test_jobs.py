"""Big work runs as a background job (issue 12): an import of many rows, an export of many
accounts, a bulk action over many accounts. Small work stays immediate. The API answers 202
with the job to poll; the back office shows a progress page that becomes the result."""

import csv
import io
import itertools

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_scopes import scopes_disabled

from agency.models import Job, SubAccount, SubAccountChange
from agency.services import jobs as job_services

from ..factories import SubAccountFactory
from .subaccount_helpers import csv_bytes, upload

HEADER = ["platform", "platform_account_id", "display_name", "owner_mobile"]
BIG = 8  # rows or accounts: over the lowered thresholds below


@pytest.fixture(autouse=True)
def low_thresholds(settings):
    settings.IMPORT_JOB_THRESHOLD_ROWS = 5
    settings.EXPORT_JOB_THRESHOLD_ROWS = 5
    settings.BULK_JOB_THRESHOLD_ACCOUNTS = 5
    settings.JOB_TIME_BUDGET_SECONDS = 600
    settings.JOB_MAX_ROWS = 1000


@pytest.fixture
def run_jobs(eager_celery, django_capture_on_commit_callbacks):
    """Jobs published by the block run inline when it ends (as a worker would run them)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def rows(n, start=0, prefix="dy"):
    return [["douyin", f"{prefix}_{i:04d}", f"账号{i}", "13800138000"] for i in range(start, start + n)]


def jobs(world):
    with scopes_disabled():
        return list(Job.objects.filter(agency=world.agency).order_by("pk"))


def count_accounts(world):
    with scopes_disabled():
        return SubAccount.objects.filter(agency=world.agency).count()


def page_upload(client, world, content, name="accounts.csv"):
    return client.post(
        f"/a/{world.agency.slug}/sub-accounts/import/", {"file": SimpleUploadedFile(name, content)}
    )


def confirm_url(world, batch_id):
    return f"/a/{world.agency.slug}/sub-accounts/import/{batch_id}/confirm/"


def latest_import_id(world):
    from agency.models import SubAccountImport

    with scopes_disabled():
        return SubAccountImport.objects.filter(agency=world.agency).latest("pk").pk


def job_page(world, job):
    return f"/a/{world.agency.slug}/jobs/{job.pk}/"


def job_api(world, job):
    return f"/api/v1/agencies/{world.agency.slug}/jobs/{job.pk}/"


# --- small work stays immediate ----------------------------------------------------------------


@pytest.mark.django_db
def test_a_small_import_is_confirmed_in_the_request(world_a):
    client = world_a.client("operator")
    assert page_upload(client, world_a, csv_bytes([HEADER, *rows(3)])).status_code == 200
    response = client.post(confirm_url(world_a, latest_import_id(world_a)))
    assert response.status_code == 302 and "/sub-accounts/" in response["Location"]
    assert count_accounts(world_a) == 3
    assert jobs(world_a) == []


@pytest.mark.django_db
def test_small_api_work_answers_at_once(world_a):
    client = world_a.client("operator")
    response = upload(client, world_a.agency.slug, csv_bytes([HEADER, *rows(5)]))
    assert response.status_code == 200 and response.json()["created"] == 5
    response = client.get(f"/api/v1/agencies/{world_a.agency.slug}/sub-accounts/export.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    with scopes_disabled():
        ids = list(SubAccount.objects.filter(agency=world_a.agency).values_list("pk", flat=True))
    response = client.post(
        f"/api/v1/agencies/{world_a.agency.slug}/sub-accounts/bulk/",
        {"action": "tag", "ids": ids, "add_tags": ["小批量"]},
        format="json",
    )
    assert response.status_code == 200 and response.json() == {"changed": 5}
    assert jobs(world_a) == []


# --- imports --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_big_upload_is_checked_then_imported_by_jobs_and_the_pages_show_the_counts(world_a, run_jobs):
    client = world_a.client("operator")
    with run_jobs():
        response = page_upload(client, world_a, csv_bytes([HEADER, *rows(BIG)]))
    [check] = jobs(world_a)
    assert response.status_code == 302 and response["Location"] == job_page(world_a, check)
    assert (check.kind, check.state, check.result["created"]) == (
        Job.Kind.IMPORT_CHECK,
        Job.State.SUCCEEDED,
        BIG,
    )
    assert count_accounts(world_a) == 0  # checked, nothing written
    page = client.get(job_page(world_a, check)).content.decode().replace("\n", "")
    assert f'<div class="stat">{BIG}</div>to create' in page
    assert f'action="{confirm_url(world_a, latest_import_id(world_a))}"' in page
    with run_jobs():
        response = client.post(confirm_url(world_a, latest_import_id(world_a)))
    job = jobs(world_a)[-1]
    assert response.status_code == 302 and response["Location"] == job_page(world_a, job)
    assert (job.kind, job.state, job.progress_total) == (Job.Kind.IMPORT, Job.State.SUCCEEDED, BIG)
    assert count_accounts(world_a) == BIG
    page = client.get(job_page(world_a, job)).content.decode()
    assert "Succeeded" in page and f'<div class="stat">{BIG}</div>created' in page.replace("\n", "")
    assert "hx-get" not in page  # finished: the page stops polling
    # The history names the member who confirmed, and the import batch.
    with scopes_disabled():
        change = SubAccountChange.objects.filter(agency=world_a.agency).first()
    assert change.actor == world_a.user("operator") and change.import_batch_id == latest_import_id(world_a)


@pytest.mark.django_db
def test_a_big_upload_with_errors_fails_its_check_naming_rows(world_a, run_jobs):
    client = world_a.client("operator")
    bad = rows(BIG)
    bad[6][1] = bad[0][1]  # a duplicate key on row 8
    with run_jobs():
        page_upload(client, world_a, csv_bytes([HEADER, *bad]))
    [check] = jobs(world_a)
    assert check.state == Job.State.FAILED and "1 problems" in check.error
    page = client.get(job_page(world_a, check)).content.decode()
    assert (
        "Duplicate: row 2" in page and "Upload a corrected file" in page and "job-confirm-import" not in page
    )
    # The file cannot be confirmed around its check.
    client.post(confirm_url(world_a, latest_import_id(world_a)))
    assert count_accounts(world_a) == 0


@pytest.mark.django_db
def test_a_queued_job_page_polls_with_htmx_and_shows_a_progress_bar(
    world_a, django_capture_on_commit_callbacks
):
    client = world_a.client("operator")
    with django_capture_on_commit_callbacks(execute=False):  # no worker: the job stays queued
        page_upload(client, world_a, csv_bytes([HEADER, *rows(BIG)]))
    [check] = jobs(world_a)
    assert check.state == Job.State.QUEUED
    # Confirming before the check is done is refused.
    client.post(confirm_url(world_a, latest_import_id(world_a)))
    assert len(jobs(world_a)) == 1 and count_accounts(world_a) == 0
    page = client.get(job_page(world_a, check)).content.decode()
    assert f'hx-get="/a/{world_a.agency.slug}/jobs/{check.pk}/status/"' in page
    assert 'hx-trigger="every ' in page and "<progress" in page and "Queued" in page
    status = client.get(f"/a/{world_a.agency.slug}/jobs/{check.pk}/status/", HTTP_HX_REQUEST="true")
    assert status.status_code == 200 and "<html" not in status.content.decode()
    job_services.job_run(agency=world_a.agency, job_id=check.pk)
    status = client.get(f"/a/{world_a.agency.slug}/jobs/{check.pk}/status/").content.decode()
    assert "Succeeded" in status and "hx-get" not in status and "job-confirm-import" in status
    with django_capture_on_commit_callbacks(execute=False):
        client.post(confirm_url(world_a, latest_import_id(world_a)))
    job = jobs(world_a)[-1]
    assert job.kind == Job.Kind.IMPORT and job.state == Job.State.QUEUED and count_accounts(world_a) == 0
    # A second click on "confirm" finds the same job instead of queueing another.
    with django_capture_on_commit_callbacks(execute=False):
        again = client.post(confirm_url(world_a, latest_import_id(world_a)))
    assert again["Location"] == job_page(world_a, job) and len(jobs(world_a)) == 2
    # The worker picks it up: the same status block now holds the result.
    job_services.job_run(agency=world_a.agency, job_id=job.pk)
    status = client.get(f"/a/{world_a.agency.slug}/jobs/{job.pk}/status/").content.decode()
    assert "Succeeded" in status and "hx-get" not in status and count_accounts(world_a) == BIG


@pytest.mark.django_db
def test_the_api_answers_202_with_a_job_to_poll(world_a, run_jobs):
    client = world_a.client("operator")
    with run_jobs():
        response = upload(client, world_a.agency.slug, csv_bytes([HEADER, *rows(BIG)]))
    assert response.status_code == 202, response.content
    body = response.json()["job"]
    assert body["kind"] == "subaccount_import" and body["state"] == "queued"
    assert response["Location"] == body["url"] and body["url"].endswith(f"/jobs/{body['id']}/")
    polled = client.get(body["url"])
    assert polled.status_code == 200
    done = polled.json()
    assert (
        done["state"] == "succeeded" and done["result"]["created"] == BIG and done["progress_percent"] == 100
    )
    assert done["download_url"] is None
    assert count_accounts(world_a) == BIG


@pytest.mark.django_db
def test_a_big_import_with_errors_fails_naming_rows_and_fields_and_writes_nothing(world_a, run_jobs):
    client = world_a.client("operator")
    bad = rows(BIG)
    bad[3][3] = "12345"  # not a mobile number: row 5 of the file (after the header)
    with run_jobs():
        response = upload(client, world_a.agency.slug, csv_bytes([HEADER, *bad]))
    job_id = response.json()["job"]["id"]
    [job] = jobs(world_a)
    assert job.pk == job_id and job.state == Job.State.FAILED
    assert count_accounts(world_a) == 0
    assert "nothing was written" in job.error
    assert [(e["row"], e["field"]) for e in job.result["errors"]] == [(5, "owner_mobile")]
    page = client.get(job_page(world_a, job)).content.decode()
    assert "Failed" in page and "nothing was written" in page and "owner_mobile" in page
    assert "Traceback" not in page


# --- exports --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_big_export_stores_its_file_and_the_page_offers_it(world_a, run_jobs):
    for i in range(BIG):
        SubAccountFactory(agency=world_a.agency, platform_account_id=f"ex_{i}", owner_mobile="+8613800138000")
    client = world_a.client("operator")  # may not see contacts: the file is masked
    with run_jobs():
        response = client.get(f"/a/{world_a.agency.slug}/sub-accounts/export/?format=csv&form=codes")
    [job] = jobs(world_a)
    assert response.status_code == 302 and response["Location"] == job_page(world_a, job)
    assert job.state == Job.State.SUCCEEDED and job.result["rows"] == BIG
    assert job.result_file.name.startswith(f"jobs/{world_a.agency.pk}/")
    page = client.get(job_page(world_a, job)).content.decode()
    assert f"/a/{world_a.agency.slug}/jobs/{job.pk}/download/" in page and "masked" in page
    download = client.get(f"/a/{world_a.agency.slug}/jobs/{job.pk}/download/")
    assert download.status_code == 200 and download["Content-Type"].startswith("text/csv")
    text = b"".join(download.streaming_content).decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    assert len(table) == BIG + 1 and "ex_0" in text
    assert "13800138000" not in text and "138****8000" in text


@pytest.mark.django_db
def test_a_big_api_export_answers_202_and_the_job_gives_the_file(world_a, run_jobs):
    for i in range(BIG):
        SubAccountFactory(agency=world_a.agency, platform="weibo", platform_account_id=f"wb_{i}")
    SubAccountFactory(agency=world_a.agency, platform="douyin", platform_account_id="dy_other")
    client = world_a.client("admin")
    with run_jobs():
        response = client.get(
            f"/api/v1/agencies/{world_a.agency.slug}/sub-accounts/export.xlsx?platform=weibo"
        )
    assert response.status_code == 202 and response["Content-Type"].startswith("application/json")
    job = client.get(response["Location"]).json()
    assert job["state"] == "succeeded" and job["result"]["rows"] == BIG
    download = client.get(job["download_url"])
    assert download.status_code == 200
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(b"".join(download.streaming_content))).active
    ids = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert sorted(ids) == sorted(f"wb_{i}" for i in range(BIG))


# --- bulk actions ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_big_bulk_action_runs_as_a_job(world_a, run_jobs):
    accounts = [SubAccountFactory(agency=world_a.agency, platform="weibo", tags=[]) for _ in range(BIG)]
    client = world_a.client("operator")
    with run_jobs():
        response = client.post(
            f"/api/v1/agencies/{world_a.agency.slug}/sub-accounts/bulk/",
            {"action": "tag", "filter": {"platform": "weibo"}, "add_tags": ["待评估"]},
            format="json",
        )
    assert response.status_code == 202
    job = client.get(response["Location"]).json()
    assert job["state"] == "succeeded" and job["result"] == {"changed": BIG, "selected": BIG}
    with scopes_disabled():
        assert all(SubAccount.objects.get(pk=a.pk).tags == ["待评估"] for a in accounts)
    # The back office's bulk form: a job too, and its page says how many changed.
    with run_jobs():
        response = client.post(
            f"/a/{world_a.agency.slug}/sub-accounts/bulk/",
            {"action": "owner", "ids": [a.pk for a in accounts], "owner_name": "王五"},
        )
    job = jobs(world_a)[-1]
    assert response["Location"] == job_page(world_a, job) and job.kind == Job.Kind.BULK_OWNER
    assert job.state == Job.State.SUCCEEDED
    assert f'<div class="stat">{BIG}</div>changed' in client.get(job_page(world_a, job)).content.decode()
    # Tags typed in the form ("a, b") over everything matching the list's filter.
    with run_jobs():
        response = client.post(
            f"/a/{world_a.agency.slug}/sub-accounts/bulk/",
            {
                "action": "tag",
                "from_filter": "1",
                "platform": "weibo",
                "add_tags": "重点, 直播",
                "remove_tags": "待评估",
            },
        )
    job = jobs(world_a)[-1]
    assert response["Location"] == job_page(world_a, job) and job.state == Job.State.SUCCEEDED
    with scopes_disabled():
        assert all(SubAccount.objects.get(pk=a.pk).tags == ["直播", "重点"] for a in accounts)


@pytest.mark.django_db
def test_a_big_bulk_action_with_bad_input_is_refused_at_once(world_a):
    for _ in range(BIG):
        SubAccountFactory(agency=world_a.agency, platform="weibo")
    client = world_a.client("operator")
    url = f"/api/v1/agencies/{world_a.agency.slug}/sub-accounts/bulk/"
    response = client.post(
        url, {"action": "tag", "filter": {"platfrom": "weibo"}, "add_tags": ["x"]}, format="json"
    )
    assert response.status_code == 400 and "platfrom" in response.json()["error"]["message"]
    response = client.post(
        url, {"action": "owner", "filter": {"platform": "weibo"}, "owner_mobile": "123"}, format="json"
    )
    assert response.status_code == 400 and "owner_mobile" in response.json()["error"]["details"]
    assert jobs(world_a) == []


@pytest.mark.django_db
def test_work_over_the_row_budget_is_refused_naming_the_limit(world_a, settings):
    settings.JOB_MAX_ROWS = 6
    for _ in range(BIG):
        SubAccountFactory(agency=world_a.agency)
    response = world_a.client("admin").get(f"/api/v1/agencies/{world_a.agency.slug}/sub-accounts/export.csv")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["details"]["limit"] == "rows" and "the limit is 6" in error["message"]
    assert jobs(world_a) == []


# --- failures and limits --------------------------------------------------------------------------


def _queued_import(world, client, n=BIG, *, on_commit):
    with on_commit(execute=False):
        response = upload(client, world.agency.slug, csv_bytes([HEADER, *rows(n)]))
    assert response.status_code == 202
    return jobs(world)[-1]


@pytest.mark.django_db
def test_a_job_over_its_time_budget_stops_and_names_the_limit(
    world_a, monkeypatch, django_capture_on_commit_callbacks
):
    client = world_a.client("operator")
    job = _queued_import(world_a, client, on_commit=django_capture_on_commit_callbacks)
    clock = itertools.count(start=1000, step=400)  # every look at the clock: 400 s later
    monkeypatch.setattr(job_services, "_clock", lambda: next(clock))
    assert job_services.job_run(agency=world_a.agency, job_id=job.pk) == Job.State.FAILED
    with scopes_disabled():
        job.refresh_from_db()
    assert job.result == {"limit": "time"}
    assert "stopped after 600 seconds, its time limit" in job.error
    assert count_accounts(world_a) == 0
    page = client.get(job_page(world_a, job)).content.decode()
    assert "its time limit" in page and "Nothing was changed" in page


@pytest.mark.django_db
def test_a_job_over_its_row_budget_stops_and_names_the_limit(
    world_a, settings, django_capture_on_commit_callbacks
):
    settings.JOB_MAX_ROWS = 5000
    client = world_a.client("operator")
    job = _queued_import(world_a, client, n=1200, on_commit=django_capture_on_commit_callbacks)
    with scopes_disabled():
        Job.objects.filter(pk=job.pk).update(row_budget=700)
    job_services.job_run(agency=world_a.agency, job_id=job.pk)
    with scopes_disabled():
        job.refresh_from_db()
    assert job.state == Job.State.FAILED and job.result == {"limit": "rows"}
    assert "stopped at 700 rows, its row limit" in job.error and count_accounts(world_a) == 0


@pytest.mark.django_db
def test_an_unexpected_error_is_a_clear_message_not_a_stack_trace(
    world_a, monkeypatch, django_capture_on_commit_callbacks
):
    client = world_a.client("operator")
    job = _queued_import(world_a, client, on_commit=django_capture_on_commit_callbacks)

    def broken(**kwargs):
        raise RuntimeError("internal detail: connection to 10.0.0.7 refused")

    monkeypatch.setitem(job_services.RUNNERS, Job.Kind.IMPORT, broken)
    job_services.job_run(agency=world_a.agency, job_id=job.pk)
    for text in (
        client.get(job_page(world_a, job)).content.decode(),
        client.get(job_api(world_a, job)).content.decode(),
    ):
        assert "unexpected error" in text and f"job number {job.pk}" in text
        assert "10.0.0.7" not in text and "Traceback" not in text and "RuntimeError" not in text


@pytest.mark.django_db
def test_the_error_is_in_the_requesters_language(
    world_a, settings, monkeypatch, django_capture_on_commit_callbacks
):
    client = world_a.client("operator")
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            f"/api/v1/agencies/{world_a.agency.slug}/sub-accounts/import/",
            {"file": SimpleUploadedFile("a.csv", csv_bytes([HEADER, *rows(BIG)]))},
            format="multipart",
            HTTP_ACCEPT_LANGUAGE="zh-hans",
        )
    assert response.status_code == 202
    job = jobs(world_a)[-1]
    assert job.language == "zh-hans"
    clock = itertools.count(start=1000, step=400)
    monkeypatch.setattr(job_services, "_clock", lambda: next(clock))
    job_services.job_run(agency=world_a.agency, job_id=job.pk)
    with scopes_disabled():
        job.refresh_from_db()
    assert "600" in job.error and "time limit" not in job.error  # translated


@pytest.mark.django_db
def test_a_queued_job_can_be_cancelled_and_the_worker_leaves_it(world_a, django_capture_on_commit_callbacks):
    client = world_a.client("operator")
    job = _queued_import(world_a, client, on_commit=django_capture_on_commit_callbacks)
    response = client.post(f"/a/{world_a.agency.slug}/jobs/{job.pk}/cancel/")
    assert response.status_code == 302
    assert job_services.job_run(agency=world_a.agency, job_id=job.pk) == Job.State.CANCELLED
    assert count_accounts(world_a) == 0
    assert "Cancelled" in client.get(job_page(world_a, job)).content.decode()
    assert (
        client.post(f"/a/{world_a.agency.slug}/jobs/{job.pk}/cancel/").status_code == 302
    )  # finished: a message


@pytest.mark.django_db
def test_the_sweep_republishes_lost_jobs_and_fails_dead_ones(
    world_a, django_capture_on_commit_callbacks, monkeypatch
):
    from datetime import timedelta

    from django.utils import timezone

    client = world_a.client("operator")
    lost = _queued_import(world_a, client, on_commit=django_capture_on_commit_callbacks)
    dead = _queued_import(world_a, client, on_commit=django_capture_on_commit_callbacks)
    long_ago = timezone.now() - timedelta(hours=2)
    with scopes_disabled():
        Job.objects.filter(pk=lost.pk).update(created_at=long_ago)
        Job.objects.filter(pk=dead.pk).update(state=Job.State.RUNNING, started_at=long_ago)
    published = []
    monkeypatch.setattr(
        job_services, "task_publish", lambda name, **kw: published.append((name, kw["kwargs"]))
    )
    assert job_services.jobs_sweep() == {"republished": 1, "failed": 1, "files_deleted": 0, "imports_expired": 0}
    assert published == [("agency.tasks.job_run", {"agency_id": world_a.agency.pk, "job_id": lost.pk})]
    with scopes_disabled():
        dead.refresh_from_db()
    assert dead.state == Job.State.FAILED and "worker" in dead.error


# --- isolation ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_job_is_invisible_to_another_agency_and_to_other_members(worlds, run_jobs):
    a, b = worlds
    for i in range(BIG):
        SubAccountFactory(agency=a.agency, platform_account_id=f"iso_{i}")
    with run_jobs():
        a.client("owner").get(f"/a/{a.agency.slug}/sub-accounts/export/?format=csv")
    [job] = jobs(a)
    assert job.state == Job.State.SUCCEEDED
    suffixes = ["", "status/", "download/"]
    for client in (b.client("owner"), a.client("admin")):  # another agency's owner; a colleague
        for suffix in suffixes:
            # Under B's slug (B's owner is a member there) and under A's slug.
            for slug in (b.agency.slug, a.agency.slug):
                response = client.get(f"/a/{slug}/jobs/{job.pk}/{suffix}")
                assert response.status_code == 404, (slug, suffix, response.status_code)
            assert client.post(f"/a/{a.agency.slug}/jobs/{job.pk}/cancel/").status_code == 404
        for slug in (b.agency.slug, a.agency.slug):
            for suffix in ("", "download/"):
                response = client.get(f"/api/v1/agencies/{slug}/jobs/{job.pk}/{suffix}")
                assert response.status_code == 404
                assert response.json()["error"]["status"] == 404
        assert f"#{job.pk}" not in client.get(f"/a/{b.agency.slug}/jobs/").content.decode()
    owner = a.client("owner")
    assert owner.get(f"/a/{a.agency.slug}/jobs/{job.pk}/download/").status_code == 200
    assert f"#{job.pk}" in owner.get(f"/a/{a.agency.slug}/jobs/").content.decode()


@pytest.mark.django_db
def test_my_jobs_is_in_the_navigation_and_lists_in_few_queries(
    world_a, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    client = world_a.client("operator")
    for _ in range(3):
        _queued_import(world_a, client, on_commit=django_capture_on_commit_callbacks)
    page = client.get(f"/a/{world_a.agency.slug}/sub-accounts/").content.decode()
    assert f'href="/a/{world_a.agency.slug}/jobs/"' in page and "My jobs" in page
    with django_assert_max_num_queries(20) as three:
        client.get(f"/a/{world_a.agency.slug}/jobs/")
        queries_for_three = len(three.captured_queries)
    for _ in range(5):
        _queued_import(world_a, client, on_commit=django_capture_on_commit_callbacks)
    with django_assert_max_num_queries(queries_for_three):  # 8 jobs cost what 3 cost
        response = client.get(f"/a/{world_a.agency.slug}/jobs/")
    assert response.content.decode().count("Sub-account import #") == 8


# --- as a worker runs it: outside the test's transaction -------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_progress_is_visible_while_the_rows_are_checked(world_a, settings, monkeypatch):
    settings.JOB_MAX_ROWS = 5000
    client = world_a.client("operator")
    response = upload(client, world_a.agency.slug, csv_bytes([HEADER, *rows(1200)]))
    job = jobs(world_a)[-1]
    assert response.status_code == 202 and job.state == Job.State.QUEUED
    monkeypatch.setattr(job_services, "PROGRESS_WRITE_SECONDS", 0)
    seen = []
    original = job_services.JobRun.progress

    def watched(self, done, **kwargs):
        original(self, done, **kwargs)
        with scopes_disabled():  # what the job page would read now
            seen.append(
                tuple(Job.objects.filter(pk=job.pk).values_list("stage", "progress_done", "state").get())
            )

    monkeypatch.setattr(job_services.JobRun, "progress", watched)
    assert job_services.job_run(agency=world_a.agency, job_id=job.pk) == Job.State.SUCCEEDED
    assert ("checking", 499, "running") in seen and ("checking", 999, "running") in seen
    assert count_accounts(world_a) == 1200


@pytest.mark.django_db(transaction=True)
def test_a_running_job_cancelled_from_its_page_stops_and_writes_nothing(world_a, settings, monkeypatch):
    settings.JOB_MAX_ROWS = 5000
    client = world_a.client("operator")
    upload(client, world_a.agency.slug, csv_bytes([HEADER, *rows(1200)]))
    job = jobs(world_a)[-1]
    monkeypatch.setattr(job_services, "CANCEL_CHECK_SECONDS", 0)
    original = job_services.JobRun.progress

    def cancel_midway(self, done, **kwargs):
        if done == 499 and self.job.stage == Job.Stage.CHECKING:
            assert client.post(f"/a/{world_a.agency.slug}/jobs/{job.pk}/cancel/").status_code == 302
        original(self, done, **kwargs)

    monkeypatch.setattr(job_services.JobRun, "progress", cancel_midway)
    assert job_services.job_run(agency=world_a.agency, job_id=job.pk) == Job.State.CANCELLED
    assert count_accounts(world_a) == 0
    assert "Cancelled at your request" in client.get(job_page(world_a, job)).content.decode()


@pytest.mark.django_db
def test_a_big_upload_over_a_file_limit_fails_its_check_naming_the_limit(world_a, settings, run_jobs):
    settings.IMPORT_MAX_ROWS = 7  # the file has 8 data rows: seen only as they stream
    client = world_a.client("operator")
    with run_jobs():
        page_upload(client, world_a, csv_bytes([HEADER, *rows(BIG)]))
    [check] = jobs(world_a)
    assert check.state == Job.State.FAILED and "more than 7 rows" in check.error
    page = client.get(job_page(world_a, check)).content.decode()
    assert "more than 7 rows" in page and "Traceback" not in page and count_accounts(world_a) == 0


@pytest.mark.django_db
def test_the_sweep_is_scheduled_and_the_tasks_are_registered():
    from django.conf import settings

    from config.celery import app

    app.loader.import_default_modules()
    assert settings.CELERY_BEAT_SCHEDULE["agency-jobs-sweep"]["task"] == "agency.tasks.jobs_sweep"
    assert {"agency.tasks.jobs_sweep", "agency.tasks.job_run"} <= set(app.tasks)


@pytest.mark.django_db
def test_an_export_file_is_deleted_after_its_retention(world_a, run_jobs, settings):
    from datetime import timedelta

    from django.core.files.storage import default_storage
    from django.utils import timezone

    for i in range(BIG):
        SubAccountFactory(agency=world_a.agency, platform_account_id=f"old_{i}")
    client = world_a.client("owner")
    with run_jobs():
        client.get(f"/a/{world_a.agency.slug}/sub-accounts/export/?format=csv")
    [job] = jobs(world_a)
    name = job.result_file.name
    assert default_storage.exists(name)
    assert job_services.jobs_sweep()["files_deleted"] == 0  # fresh: kept
    with scopes_disabled():
        Job.objects.filter(pk=job.pk).update(finished_at=timezone.now() - timedelta(days=8))
    assert job_services.jobs_sweep()["files_deleted"] == 1
    assert not default_storage.exists(name)
    page = client.get(job_page(world_a, job)).content.decode()
    assert (
        "/download/" not in page
        and client.get(f"/a/{world_a.agency.slug}/jobs/{job.pk}/download/").status_code == 404
    )


@pytest.mark.django_db
def test_a_big_api_dry_run_is_a_checking_job(world_a, run_jobs):
    client = world_a.client("operator")
    with run_jobs():
        response = upload(client, world_a.agency.slug, csv_bytes([HEADER, *rows(BIG)]), dry_run=True)
    assert response.status_code == 202
    job = client.get(response["Location"]).json()
    assert (job["kind"], job["state"]) == ("subaccount_import_check", "succeeded")
    assert (job["result"]["created"], job["result"]["dry_run"], job["result"]["applied"]) == (
        BIG,
        True,
        False,
    )
    assert count_accounts(world_a) == 0


@pytest.mark.django_db
def test_a_job_queued_for_minutes_says_no_worker_took_it(world_a, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    client = world_a.client("operator")
    job = _queued_import(world_a, client, on_commit=django_capture_on_commit_callbacks)
    assert "No worker has taken it" not in client.get(job_page(world_a, job)).content.decode()
    with scopes_disabled():
        Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=10))
    assert "No worker has taken it for several minutes" in client.get(job_page(world_a, job)).content.decode()
