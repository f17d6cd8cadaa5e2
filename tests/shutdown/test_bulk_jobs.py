"""Issue 15: long bulk work inside a task runs as a background job with a progress bar — a bulk
action over many items, the confirmation of a big receipts file. Small work stays immediate.
The kinds are registered by the shutdown app (agency.jobs_registry): agency never imports it."""

import pytest
from django.contrib.messages import get_messages
from django.core.files.storage import default_storage
from django_scopes import scopes_disabled

from agency.jobs_registry import job_kind
from agency.models import Job
from agency.services import jobs as job_services
from shutdown.models import ReceiptImport, TaskDocument, TaskItem
from shutdown.services.bulk_jobs import BULK_KIND, RECEIPTS_KIND
from shutdown.states import ItemState

from .helpers import upload
from .test_bulk import blocked_task, url
from .test_receipts import csv_file, executing_task, receipt_rows


@pytest.fixture(autouse=True)
def low_thresholds(settings):
    settings.SHUTDOWN_BULK_JOB_THRESHOLD = 5
    settings.SHUTDOWN_RECEIPTS_JOB_THRESHOLD = 5
    settings.JOB_TIME_BUDGET_SECONDS = 600
    settings.JOB_MAX_ROWS = 1000


@pytest.fixture
def run_jobs(eager_celery, django_capture_on_commit_callbacks):
    """Jobs published by the block run inline when it ends (as a worker would run them)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def jobs(world):
    with scopes_disabled():
        return list(Job.objects.filter(agency=world.agency).order_by("pk"))


def job_page(world, job):
    return f"/a/{world.agency.slug}/jobs/{job.pk}/"


def job_api(world, job):
    return f"/api/v1/agencies/{world.agency.slug}/jobs/{job.pk}/"


def excluded(world, task):
    with world.scope():
        return TaskItem.objects.filter(task=task, state=ItemState.EXCLUDED).count()


def test_the_kinds_are_registered_by_the_shutdown_app():
    assert job_kind(BULK_KIND) is not None and job_kind(RECEIPTS_KIND) is not None
    assert job_services.RUNNERS.keys().isdisjoint(
        {BULK_KIND, RECEIPTS_KIND}
    )  # agency's own stay as they were


def test_a_small_bulk_action_stays_immediate(world_a):
    task = blocked_task(world_a, 5)
    response = world_a.client("operator").post(
        url(world_a, "task_bulk", pk=task.pk),
        {"all_matching": "1", "action": "exclude", "reason": "合作未完"},
    )
    assert response.status_code == 302 and "/jobs/" not in response["Location"]
    assert [str(m) for m in get_messages(response.wsgi_request)][-1] == "5 accounts done."
    assert excluded(world_a, task) == 5
    assert jobs(world_a) == []


def test_a_big_bulk_action_runs_as_a_job_and_its_page_says_what_happened_in_chinese(world_a, run_jobs):
    task = blocked_task(world_a, 8)
    with world_a.scope():
        first = TaskItem.objects.filter(task=task).order_by("pk").first()
    client = world_a.client("operator")
    client.post(url(world_a, "task_bulk", pk=task.pk), {"ids": [first.pk], "action": "exclude"})
    with run_jobs():
        response = client.post(
            url(world_a, "task_bulk", pk=task.pk),
            {"all_matching": "1", "action": "exclude", "reason": "合作未完"},
            HTTP_ACCEPT_LANGUAGE="zh-hans",
        )
        [job] = jobs(world_a)
        assert response.status_code == 302
        assert response["Location"] == job_page(world_a, job)  # the progress page
        assert excluded(world_a, task) == 1  # not in the request: in the worker
    with scopes_disabled():
        job.refresh_from_db()
    assert job.kind == BULK_KIND and job.state == Job.State.SUCCEEDED, job.error
    assert job.progress_total == 8 and job.progress_done == 8
    assert job.result["done"] == 7 and job.result["skipped_total"] == 1
    assert excluded(world_a, task) == 8
    html = client.get(job_page(world_a, job), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "任务内账号批量操作" in html  # the registered kind's label, translated
    assert "已完成 7 个账号" in html and "跳过" in html  # “N done, M skipped because …”
    assert "shutdown_bulk" not in html and "already excluded" not in html
    assert f'href="{url(world_a, "task_detail", pk=task.pk)}"' in html and "返回任务" in html
    # The API shows the same job.
    data = client.get(job_api(world_a, job)).json()
    assert data["state"] == "succeeded" and data["result"]["done"] == 7


def test_a_big_bulk_action_with_a_document_over_the_api_is_202_and_the_worker_reads_the_file(
    world_a, run_jobs
):
    task = blocked_task(world_a, 8)
    client = world_a.client("operator")
    with world_a.scope():
        ids = list(TaskItem.objects.filter(task=task).values_list("pk", flat=True))
    with run_jobs():
        response = client.post(
            f"/api/v1/agencies/{world_a.agency.slug}/shutdown-tasks/{task.pk}/bulk/",
            {"action": "upload", "kind": "gdpr_declaration", "file": upload(), "ids": ids},
            format="multipart",
        )
        assert response.status_code == 202, response.content
        body = response.json()
        assert response["Location"].endswith(f"/jobs/{body['job']['id']}/")
        staged = body["job"]["id"]
    with scopes_disabled():
        job = Job.objects.get(pk=staged)
    assert job.state == Job.State.SUCCEEDED, job.error
    with world_a.scope():
        documents = TaskDocument.objects.filter(task=task, kind="gdpr_declaration")
        assert documents.count() == 8
        assert len({d.file.name for d in documents}) == 1  # stored once for every account
        assert default_storage.exists(documents[0].file.name)
    assert not default_storage.exists(job.params["document"]["path"])  # the staged copy is gone


def test_a_bad_document_is_refused_before_a_job_is_made(world_a, run_jobs):
    task = blocked_task(world_a, 8)
    client = world_a.client("operator")
    response = client.post(
        url(world_a, "task_bulk", pk=task.pk),
        {
            "all_matching": "1",
            "action": "upload",
            "kind": "gdpr_declaration",
            "file": upload(b"hello", "a.pdf"),
        },
    )
    assert response.status_code == 302 and "/jobs/" not in response["Location"]
    assert "is not a PDF, JPEG or PNG file" in [str(m) for m in get_messages(response.wsgi_request)][-1]
    assert jobs(world_a) == []


def test_a_small_receipts_file_is_confirmed_at_once_and_a_big_one_by_a_job(world_a, run_jobs, monkeypatch):
    task, accounts = executing_task(world_a, 9)
    client = world_a.client("operator")
    client.post(url(world_a, "receipts_import", pk=task.pk), {"file": csv_file(receipt_rows(accounts[:3]))})
    with world_a.scope():
        small = ReceiptImport.objects.latest("pk")
    response = client.post(url(world_a, "receipts_confirm", pk=task.pk, import_id=small.pk))
    assert response.status_code == 302 and "/jobs/" not in response["Location"]
    assert jobs(world_a) == []
    client.post(url(world_a, "receipts_import", pk=task.pk), {"file": csv_file(receipt_rows(accounts)[3:])})
    with world_a.scope():
        big = ReceiptImport.objects.latest("pk")
    progress = []
    real_progress = job_services.JobRun.progress

    def spy(self, done, **kwargs):
        progress.append(done)
        return real_progress(self, done, **kwargs)

    with run_jobs():
        response = client.post(
            url(world_a, "receipts_confirm", pk=task.pk, import_id=big.pk), HTTP_ACCEPT_LANGUAGE="zh-hans"
        )
        [job] = jobs(world_a)
        assert response["Location"] == job_page(world_a, job)
        monkeypatch.setattr(job_services.JobRun, "progress", spy)
    with scopes_disabled():
        job.refresh_from_db()
    assert job.kind == RECEIPTS_KIND and job.state == Job.State.SUCCEEDED, job.error
    assert progress == [0, 1, 2, 3, 4, 5]  # one report per row
    with world_a.scope():
        assert TaskItem.objects.filter(task=task, state=ItemState.DONE).count() == 9
        big.refresh_from_db()
        assert big.status == ReceiptImport.Status.APPLIED
    html = client.get(job_page(world_a, job), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "平台回执导入" in html and "已按回执文件将 6 个账号标记为完成。" in html
    assert "返回任务" in html


def test_a_big_receipts_file_over_the_api_is_202(world_a, run_jobs):
    task, accounts = executing_task(world_a, 8)
    client = world_a.client("operator")
    with run_jobs():
        response = client.post(
            f"/api/v1/agencies/{world_a.agency.slug}/shutdown-tasks/{task.pk}/receipts/",
            {"file": csv_file(receipt_rows(accounts))},
            format="multipart",
        )
        assert response.status_code == 202, response.content
    [job] = jobs(world_a)
    assert response.json()["job"]["id"] == job.pk
    with scopes_disabled():
        job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED and job.result["done"] == 8
    with world_a.scope():
        assert TaskItem.objects.filter(task=task, state=ItemState.DONE).count() == 8


def test_a_task_job_is_invisible_to_another_agency(worlds, run_jobs):
    a, b = worlds
    task = blocked_task(a, 8)
    with run_jobs():
        a.client("operator").post(url(a, "task_bulk", pk=task.pk), {"all_matching": "1", "action": "exclude"})
    [job] = jobs(a)
    client = b.client("owner")
    for slug in (a.agency.slug, b.agency.slug):
        assert client.get(f"/a/{slug}/jobs/{job.pk}/").status_code == 404
        assert client.get(f"/a/{slug}/jobs/{job.pk}/status/").status_code == 404
        assert client.get(f"/api/v1/agencies/{slug}/jobs/{job.pk}/").status_code == 404


def test_a_running_receipts_job_shows_its_rows_on_the_progress_bar(
    world_a, django_capture_on_commit_callbacks
):
    """The rows are marked done in one all-or-nothing transaction: the job row only changes at
    its end, so the worker's progress reaches the job page and the API through the cache."""
    task, accounts = executing_task(world_a, 8)
    client = world_a.client("operator")
    client.post(url(world_a, "receipts_import", pk=task.pk), {"file": csv_file(receipt_rows(accounts))})
    with world_a.scope():
        batch = ReceiptImport.objects.latest("pk")
    with django_capture_on_commit_callbacks(execute=False):  # no worker
        client.post(url(world_a, "receipts_confirm", pk=task.pk, import_id=batch.pk))
    [job] = jobs(world_a)
    with scopes_disabled():
        Job.objects.filter(pk=job.pk).update(state=Job.State.RUNNING)
        job.refresh_from_db()
    job_services.JobRun(job).progress(3)  # as the worker reports row 3, inside its transaction
    with scopes_disabled():
        assert Job.objects.get(pk=job.pk).progress_done == 0  # the row itself: not yet
    assert "3 of 8" in client.get(job_page(world_a, job)).content.decode()
    assert client.get(job_api(world_a, job)).json()["progress_done"] == 3
