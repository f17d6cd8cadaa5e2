"""Big bulk work inside a task runs as a background job (agency.services.jobs, issue 15).

- A bulk action (shutdown.services.bulk) over more than SHUTDOWN_BULK_JOB_THRESHOLD items: the
  selection is counted now, the action's arguments are kept on the job row (the filter as its
  query string), an uploaded document is checked now and kept in the documents' storage under
  the task's folder so that the worker can read it (and deleted when the job ends; the action
  stores its own copy, once, for every account).
- A previewed platform receipts file of more than SHUTDOWN_RECEIPTS_JOB_THRESHOLD rows: the
  confirmation (all-or-nothing; every row through execution.item_mark_done) runs in the worker,
  reporting each row to the job's progress.

Smaller work stays immediate. The kinds are registered with agency.jobs_registry in
ShutdownConfig.ready() (agency never imports this app).
"""

import uuid

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import QueryDict
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from agency.exceptions import Conflict, DomainValidationError
from agency.models import Agency, Job
from agency.services.jobs import job_create, jobs_of
from shutdown.filters import item_selection
from shutdown.models import ReceiptImport, ShutdownTask
from shutdown.services import bulk
from shutdown.services.documents import upload_check
from shutdown.services.receipts import receipts_confirm, receipts_upload

BULK_KIND = "shutdown_bulk"
RECEIPTS_KIND = "shutdown_receipts"
BULK_PARAM_KEYS = ("code", "note", "reason", "tier", "kind")


def _plain_filters(filters):
    """The filter as JSON: a QueryDict keeps its query string (its repeated names)."""
    if filters is None:
        return None
    if hasattr(filters, "urlencode"):
        return filters.urlencode()
    return dict(filters)


def _filters_of(value):
    return QueryDict(value) if isinstance(value, str) else value


def _plain_params(params) -> dict:
    params = params or {}
    keys = [k for k in params if k not in ("csrfmiddlewaretoken", "ids", "all_matching", "file", "action")]
    return {k: params.get(k) for k in keys if params.get(k) is not None}


def _unfinished(*, agency, actor, kind: str, task_id: int):
    return jobs_of(agency=agency, user=actor).filter(
        kind=kind, state__in=[Job.State.QUEUED, Job.State.RUNNING], params__task_id=task_id
    )


def bulk_run_or_job(
    *,
    agency: Agency,
    task: ShutdownTask,
    actor,
    action: str,
    ids=None,
    filters=None,
    params=None,
    upload=None,
) -> "bulk.BulkResult | Job":
    """Run the bulk action now (its BulkResult) or, over more than SHUTDOWN_BULK_JOB_THRESHOLD
    items, as a background job (the Job). The action, the selection and the document are checked
    now, so that a mistake is a message now, not a failed job later."""
    spec = bulk.BULK_ACTIONS.get(action or "")
    if spec is None:
        raise DomainValidationError(_("Choose a bulk action."), details={"action": [action or "required"]})
    count = item_selection(task=task, ids=ids, params=filters or {}).count()
    if count <= settings.SHUTDOWN_BULK_JOB_THRESHOLD:
        return bulk.bulk_run(
            agency=agency,
            task=task,
            actor=actor,
            action=action,
            ids=ids,
            filters=filters,
            params=params,
            upload=upload,
        )
    document = None
    if upload is not None:
        upload_check(upload)  # the file's size and type: refused now, not in the worker
        path = default_storage.save(
            f"shutdown/agency_{agency.pk}/task_{task.pk}/jobs/{uuid.uuid4().hex}", upload
        )
        document = {"path": path, "name": (getattr(upload, "name", "") or "")[:255]}
    job_params = {
        "task_id": task.pk,
        "action": action,
        "ids": [str(i) for i in ids] if ids is not None else None,
        "filters": _plain_filters(filters) if ids is None else None,
        "params": _plain_params(params),
        "document": document,
    }
    try:
        return job_create(agency=agency, actor=actor, kind=BULK_KIND, params=job_params, total=count)
    except Exception:
        if document is not None:
            default_storage.delete(document["path"])
        raise


def _task_of(agency, job) -> ShutdownTask:
    task = ShutdownTask.objects.filter(agency=agency, pk=job.params.get("task_id")).first()
    if task is None:
        raise DomainValidationError(_("The task is no longer there."))
    return task


def run_bulk_job(*, agency: Agency, job: Job, run) -> dict:
    p = job.params
    task = _task_of(agency, job)
    run.progress(0, total=job.progress_total)
    document = p.get("document") or None
    upload = None
    try:
        if document:
            if not default_storage.exists(document["path"]):
                raise DomainValidationError(_("The uploaded document is no longer there. Upload it again."))
            upload = default_storage.open(document["path"], "rb")
            upload.name = document["name"] or "document"
        run.stage(Job.Stage.WRITING)
        result = bulk.bulk_run(
            agency=agency,
            task=task,
            actor=job.created_by,
            action=p["action"],
            ids=p.get("ids"),
            filters=_filters_of(p.get("filters")),
            params=p.get("params") or {},
            upload=upload,
        )
    finally:
        if upload is not None:
            upload.close()
        if document:
            default_storage.delete(document["path"])
    run.check(job.progress_total)
    return {**result.as_dict(), "skipped_total": result.skipped_total, "task_id": task.pk}


def receipts_confirm_or_job(*, agency: Agency, task: ShutdownTask, actor, import_id: int) -> "dict | Job":
    """Confirm a previewed receipts file now (its answer) or, for more than
    SHUTDOWN_RECEIPTS_JOB_THRESHOLD rows, as a background job (the same job again on a double click)."""
    batch = ReceiptImport.objects.filter(task=task, pk=import_id).first()
    if batch is None:
        raise ReceiptImport.DoesNotExist
    rows = int((batch.result or {}).get("rows") or 0)
    if rows <= settings.SHUTDOWN_RECEIPTS_JOB_THRESHOLD:
        return receipts_confirm(agency=agency, task=task, actor=actor, import_id=batch.pk)
    if batch.status == ReceiptImport.Status.APPLIED:
        raise Conflict(_("This receipts file has already been imported."), code="already_applied")
    running = (
        _unfinished(agency=agency, actor=actor, kind=RECEIPTS_KIND, task_id=task.pk)
        .filter(params__import_id=batch.pk)
        .first()
    )
    if running is not None:
        return running
    return job_create(
        agency=agency,
        actor=actor,
        kind=RECEIPTS_KIND,
        params={"task_id": task.pk, "import_id": batch.pk},
        total=rows,
    )


def receipts_job_for_upload(*, agency: Agency, task: ShutdownTask, actor, content: bytes, filename: str):
    """The API's receipts file of more than SHUTDOWN_RECEIPTS_JOB_THRESHOLD rows (counted without
    reading them): previewed now and, when every row is right, confirmed by a job (the Job).
    None: import it now (a small file, or one with errors, which the immediate path answers)."""
    from agency.importers.reader import FileRejected, estimated_rows

    try:
        rows = max(estimated_rows(content) - 1, 0)  # less the header row
    except FileRejected:
        return None
    if rows <= settings.SHUTDOWN_RECEIPTS_JOB_THRESHOLD:
        return None
    batch, plan = receipts_upload(agency=agency, task=task, actor=actor, content=content, filename=filename)
    if not plan.ok or len(plan.rows) <= settings.SHUTDOWN_RECEIPTS_JOB_THRESHOLD:
        batch.delete()
        return None
    return receipts_confirm_or_job(agency=agency, task=task, actor=actor, import_id=batch.pk)


def run_receipts_job(*, agency: Agency, job: Job, run) -> dict:
    from agency.services.jobs import JobFailed

    task = _task_of(agency, job)
    run.stage(Job.Stage.WRITING)
    answer = receipts_confirm(
        agency=agency,
        task=task,
        actor=job.created_by,
        import_id=job.params.get("import_id"),
        progress=lambda done: run.progress(done),
    )
    if not answer["applied"]:
        raise JobFailed(
            _(
                "The file no longer imports cleanly: nothing was marked done. Fix the rows and "
                "upload it again."
            ),
            result={**answer, "errors": answer["errors"][:1000], "task_id": task.pk},
        )
    done = answer["done"]
    return {
        **answer,
        "task_id": task.pk,
        "skipped_total": 0,
        "message": _("%(n)d accounts marked done from the receipts file.") % {"n": done},
    }


def back_to_task(job: Job):
    task_id = (job.params or {}).get("task_id")
    if not task_id:
        return None
    url = reverse("shutdown:task_detail", kwargs={"agency_slug": job.agency.slug, "pk": task_id})
    return (_("Back to the task"), url)


def register() -> None:
    from agency.jobs_registry import register_job_kind

    register_job_kind(
        BULK_KIND, gettext_lazy("Bulk action on a task's accounts"), run_bulk_job, back_link=back_to_task
    )
    register_job_kind(
        RECEIPTS_KIND, gettext_lazy("Platform receipts import"), run_receipts_job, back_link=back_to_task
    )
