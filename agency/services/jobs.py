"""Background jobs: work too big for a web request runs in a Celery worker.

Which work becomes a job (the rest stays immediate):
- a sub-account import whose file has more rows than IMPORT_JOB_THRESHOLD_ROWS;
- a sub-account export of more accounts than EXPORT_JOB_THRESHOLD_ROWS;
- a bulk action (tags, owner contact) over more accounts than BULK_JOB_THRESHOLD_ACCOUNTS.

`job_create` writes the Job row and publishes `agency.tasks.job_run` after commit; the worker
calls `job_run`, which claims the row (queued → running), runs the kind's runner in the
requester's language and records the outcome: counts, errors by row and field, a result file in
storage (Django's storage API: local disk or object storage, served by agency.files), or a
message saying what went wrong. A job never shows a stack trace to a user.

Budgets: each job has a time budget and a row budget (JOB_TIME_BUDGET_SECONDS, JOB_MAX_ROWS),
checked as it reports progress; a job over either stops, writes nothing (imports and bulk
actions are all-or-nothing transactions; an export stores its file only at the end) and names
the limit. The Celery task also carries a soft time limit a minute past the budget, and the
sweep (agency/beat.py) re-publishes queued jobs whose message was lost and fails running jobs
whose worker died.
"""

import logging
import time
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_scopes import scope, scopes_disabled

from agency.celery_base import task_publish
from agency.db import pin_to_primary, read_replica
from agency.exceptions import Conflict, DomainError, DomainValidationError
from agency.models import Agency, Job, SubAccountImport

logger = logging.getLogger(__name__)

RUN_TASK = "agency.tasks.job_run"
PROGRESS_WRITE_SECONDS = 0.5  # at most two progress writes a second
CANCEL_CHECK_SECONDS = 2.0
STORED_ERRORS = 1000
SWEEP_QUEUED_AFTER = timedelta(minutes=2)  # a queued job older than this has lost its message
SWEEP_RUNNING_GRACE = timedelta(minutes=2)  # past its budget by this much, a running job's worker died


class JobStopped(Exception):
    """The job hit one of its limits: `limit` is "time" or "rows"."""

    def __init__(self, message: str, *, limit: str):
        self.limit = limit
        super().__init__(message)


class JobCancelled(Exception):
    pass


class JobFailed(Exception):
    """The work ran and was refused (e.g. an import with errors): a message and a result to show."""

    def __init__(self, message: str, *, result: dict):
        self.result = result
        super().__init__(message)


def _n(value) -> str:
    return f"{value:,}"


def time_limit_message(seconds: int) -> str:
    return _(
        "The job stopped after %(seconds)s seconds, its time limit. Nothing was changed: split the work "
        "into smaller parts (fewer rows or accounts) and start it again."
    ) % {"seconds": _n(seconds)}


def row_limit_message(rows: int) -> str:
    return _(
        "The job stopped at %(rows)s rows, its row limit. Nothing was changed: split the work into "
        "smaller parts and start it again."
    ) % {"rows": _n(rows)}


def _clock() -> float:
    """The jobs' clock (a function of its own, so that a test can move it without moving every clock)."""
    return time.monotonic()


def _progress_key(job_id: int) -> str:
    return f"job-progress:{job_id}"


def _progress_cache_set(job: Job, done: int) -> None:
    try:
        cache.set(_progress_key(job.pk), [done, job.progress_total], timeout=job.time_budget_seconds + 120)
    except Exception:  # noqa: BLE001 - the progress bar is a convenience; the work goes on without it
        logger.warning("job %s: progress not cached", job.pk, exc_info=True)


def job_live_progress(job: Job) -> Job:
    """A running job's progress as its worker last reported it: from the row or, while the work
    is inside one all-or-nothing transaction (a receipts file, an import's writing), from the cache."""
    if job.state != Job.State.RUNNING:
        return job
    try:
        cached = cache.get(_progress_key(job.pk))
    except Exception:  # noqa: BLE001 - no cache: the row's progress
        cached = None
    if cached and cached[0] > job.progress_done:
        job.progress_done = cached[0]
        job.progress_total = cached[1] or job.progress_total
    return job


class JobRun:
    """What a runner gets: progress reports that also enforce the budgets and see a cancellation."""

    def __init__(self, job: Job):
        self.job = job
        self.started = _clock()
        self.deadline = self.started + job.time_budget_seconds
        self._last_write = 0.0
        self._last_cancel_check = self.started

    def check(self, done: int = 0) -> None:
        now = _clock()
        if now > self.deadline:
            raise JobStopped(time_limit_message(self.job.time_budget_seconds), limit="time")
        if done > self.job.row_budget:
            raise JobStopped(row_limit_message(self.job.row_budget), limit="rows")
        if now - self._last_cancel_check >= CANCEL_CHECK_SECONDS:
            self._last_cancel_check = now
            if Job.objects.filter(pk=self.job.pk, cancel_requested=True).exists():
                raise JobCancelled

    def progress(self, done: int, *, total: int | None = None) -> None:
        """Report `done` of the total (and check the budgets). Outside a transaction the row is
        updated at most twice a second; inside one (an all-or-nothing write) it is not, so that
        the job row is never locked by the work (a cancel request must not wait)."""
        self.check(done)
        self.job.progress_done = done
        if total is not None:
            self.job.progress_total = total
        now = _clock()
        if now - self._last_write >= PROGRESS_WRITE_SECONDS:
            self._last_write = now
            if not connection.in_atomic_block:
                Job.objects.filter(pk=self.job.pk).update(
                    progress_done=done, progress_total=self.job.progress_total
                )
            else:  # the row would only show it at commit: the cache carries it to the job page meanwhile
                _progress_cache_set(self.job, done)

    def stage(self, stage: str) -> None:
        self.job.stage = stage
        if not connection.in_atomic_block:
            Job.objects.filter(pk=self.job.pk).update(stage=stage, progress_done=self.job.progress_done)


# --- creating --------------------------------------------------------------------------------------


def job_create(*, agency: Agency, actor, kind: str, params: dict, total: int) -> Job:
    """Queue a job (published to the workers after commit). A job bigger than the row budget is
    refused now, naming the limit, rather than failing later."""
    if total > settings.JOB_MAX_ROWS:
        raise DomainValidationError(
            _("This would work on %(n)s rows; the limit is %(limit)s. Split the work into smaller parts.")
            % {"n": _n(total), "limit": _n(settings.JOB_MAX_ROWS)},
            code="too_many_rows",
            details={"limit": "rows", "value": total, "max": settings.JOB_MAX_ROWS},
        )
    with transaction.atomic():
        job = Job.objects.create(
            agency=agency,
            created_by=actor if getattr(actor, "pk", None) else None,
            kind=kind,
            params=params,
            progress_total=total,
            language=translation.get_language() or settings.LANGUAGE_CODE,
            time_budget_seconds=settings.JOB_TIME_BUDGET_SECONDS,
            row_budget=settings.JOB_MAX_ROWS,
        )
        task_publish(RUN_TASK, kwargs={"agency_id": agency.pk, "job_id": job.pk})
    return job


def jobs_of(*, agency: Agency, user):
    """The jobs a member sees: their own, in their agency (another member's export may hold
    contacts they may not see)."""
    return Job.objects.filter(agency=agency, created_by=user)


def job_cancel(*, agency: Agency, actor, job_id: int) -> Job:
    """Cancel a queued job at once; a running one stops at its next progress report (nothing written)."""
    with transaction.atomic():
        job = jobs_of(agency=agency, user=actor).select_for_update().filter(pk=job_id).first()
        if job is None:
            raise Job.DoesNotExist
        if job.is_finished:
            raise Conflict(_("This job has already finished."))
        if job.state == Job.State.QUEUED:
            job.state, job.finished_at = Job.State.CANCELLED, timezone.now()
            job.error = _("Cancelled before it started; nothing was changed.")
            job.save(update_fields=["state", "finished_at", "error"])
        else:
            job.cancel_requested = True
            job.save(update_fields=["cancel_requested"])
    return job


# --- the work, per kind ---------------------------------------------------------------------------


def _data_rows(run: JobRun):
    """The reader counts the header row too; the job's total counts data rows."""
    return lambda rows_read: run.progress(max(rows_read - 1, 0))


def _run_import(*, agency: Agency, job: Job, run: JobRun) -> dict:
    from agency.importers.subaccounts import plan_import
    from agency.services.imports import pending_content, subaccount_import_confirm

    batch = SubAccountImport.objects.filter(agency=agency, pk=job.params.get("import_id")).first()
    if batch is None:
        raise DomainValidationError(_("The uploaded file is no longer there. Upload it again."))
    if batch.status == SubAccountImport.Status.APPLIED:
        raise Conflict(_("This file has already been imported."))
    # 1. Check every row outside a transaction: the progress bar moves, and a file with errors
    #    stops here having written nothing.
    run.stage(Job.Stage.CHECKING)
    plan = plan_import(agency=agency, content=pending_content(batch), progress=_data_rows(run))
    if plan.rejected or not plan.ok:
        answer = plan.answer(dry_run=False, applied=False)
        raise JobFailed(
            _(
                "The file does not import cleanly: nothing was written. Fix the rows listed below "
                "and upload it again."
            ),
            result={**answer, "errors": answer["errors"][:STORED_ERRORS]},
        )
    # 2. Write, all-or-nothing, re-validated under row locks against the registry as it is now.
    run.stage(Job.Stage.WRITING)
    answer = subaccount_import_confirm(
        agency=agency, actor=job.created_by, import_id=batch.pk, progress=_data_rows(run)
    )
    if not answer["applied"]:
        raise JobFailed(
            _(
                "The registry changed while the file was checked and the file no longer imports "
                "cleanly: nothing was written. Fix the rows listed below and upload it again."
            ),
            result={**answer, "errors": answer["errors"][:STORED_ERRORS]},
        )
    return {**answer, "import_id": batch.pk}


def _run_import_check(*, agency: Agency, job: Job, run: JobRun) -> dict:
    """The preview of a big upload: every row read and checked, nothing written. The answer
    (counts, errors) is kept on the import row, whose confirmation then runs as an import job."""
    from agency.importers.subaccounts import plan_import
    from agency.services.imports import pending_content

    batch = SubAccountImport.objects.filter(agency=agency, pk=job.params.get("import_id")).first()
    if batch is None:
        raise DomainValidationError(_("The uploaded file is no longer there. Upload it again."))
    run.stage(Job.Stage.CHECKING)
    plan = plan_import(agency=agency, content=pending_content(batch), progress=_data_rows(run))
    if plan.rejected:
        raise DomainValidationError(str(plan.rejected))
    answer = plan.answer(dry_run=True, applied=False)
    answer = {**answer, "errors": answer["errors"][:STORED_ERRORS]}
    SubAccountImport.objects.filter(pk=batch.pk).update(result=answer)
    if not plan.ok:
        raise JobFailed(
            _(
                "The file has %(n)s problems; nothing was written. Fix the rows listed below and upload it again."
            )
            % {"n": _n(len(plan.errors))},
            result=answer,
        )
    return {**answer, "import_id": batch.pk, "rows": len(plan.rows)}


def _counted(rows, run: JobRun):
    done = 0
    for row in rows:
        yield row
        done += 1
        if done % 500 == 0:
            run.progress(done)
    run.progress(done)


def _run_export(*, agency: Agency, job: Job, run: JobRun) -> dict:
    from agency.exporters.people import export_bytes_for_people, export_content_type
    from agency.exporters.subaccounts import (
        export_filename,
        export_queryset_rows,
        masked_row,
        render_csv,
        render_xlsx,
    )
    from agency.selectors import subaccount_selection_queryset

    p = job.params
    queryset = read_replica(  # a long read-only scan: the replica's, when there is one (agency/db.py)
        subaccount_selection_queryset(agency=agency, ids=p.get("ids"), params=p.get("filter") or {}),
        user=job.created_by,
    )
    total = queryset.count()
    run.progress(0, total=total)
    rows = _counted(export_queryset_rows(queryset), run)
    if p.get("header") and p.get("masked", True):  # the API's file, masked for the member's role (PIPL)
        rows = map(masked_row, rows)
    fmt = p.get("fmt", "csv")
    if p.get("header"):  # the API's file: codes, `header=en|zh`, as the synchronous endpoint answers it
        content = render_csv(rows, p["header"]) if fmt == "csv" else render_xlsx(rows, p["header"])
        content_type = export_content_type(fmt)
    else:
        content = export_bytes_for_people(
            rows=rows, fmt=fmt, form=p["form"], encoding=p["encoding"], masked=p.get("masked", True)
        )
        content_type = export_content_type(fmt, p["encoding"])
    filename = export_filename(agency, fmt)
    run.check(total)
    job.result_file.save(filename, ContentFile(content), save=False)
    job.result_filename, job.result_content_type = filename, content_type
    Job.objects.filter(pk=job.pk).update(
        result_file=job.result_file.name, result_filename=filename, result_content_type=content_type
    )
    return {
        "rows": total,
        "format": fmt,
        "filename": filename,
        "size": len(content),
        "masked": bool(p.get("masked", True)),
    }


def _run_bulk(*, agency: Agency, job: Job, run: JobRun) -> dict:
    from agency.services.subaccounts import subaccount_bulk_set_owner, subaccount_bulk_tag

    p = job.params
    run.check(job.progress_total)
    run.stage(Job.Stage.WRITING)
    selection = {"ids": p.get("ids"), "params": p.get("filter")}
    if job.kind == Job.Kind.BULK_TAG:
        changed = subaccount_bulk_tag(
            agency=agency, actor=job.created_by, **selection, add=p.get("add"), remove=p.get("remove")
        )
    else:
        changed = subaccount_bulk_set_owner(
            agency=agency, actor=job.created_by, **selection, **p.get("values", {})
        )
    run.check(job.progress_total)
    job.progress_done = job.progress_total
    return {"changed": changed, "selected": job.progress_total}


RUNNERS = {
    Job.Kind.IMPORT_CHECK: _run_import_check,
    Job.Kind.IMPORT: _run_import,
    Job.Kind.EXPORT: _run_export,
    Job.Kind.BULK_TAG: _run_bulk,
    Job.Kind.BULK_OWNER: _run_bulk,
}


def _runner_of(kind: str):
    """The agency app's own kinds, or a kind an app above registered (agency.jobs_registry)."""
    if kind in RUNNERS:
        return RUNNERS[kind]
    from agency.jobs_registry import job_kind

    spec = job_kind(kind)
    if spec is None:
        raise DomainValidationError(_("This kind of job is not known any more; start the work again."))
    return spec.runner


# --- running --------------------------------------------------------------------------------------


def _finish(job: Job, *, state: str, result: dict | None = None, error: str = "") -> None:
    try:
        cache.delete(_progress_key(job.pk))
    except Exception:  # noqa: BLE001 - an entry left behind expires with the job's budget
        logger.warning("job %s: cached progress not deleted", job.pk, exc_info=True)
    job.state, job.finished_at, job.error = state, timezone.now(), error
    if result is not None:
        job.result = result
    if state == Job.State.SUCCEEDED and job.progress_total:
        job.progress_done = job.progress_total
    if job.kind != Job.Kind.EXPORT:  # its creator then reads what the job wrote from the primary
        pin_to_primary(job.created_by_id)
    Job.objects.filter(pk=job.pk).update(
        state=job.state,
        finished_at=job.finished_at,
        error=job.error,
        result=job.result,
        progress_done=job.progress_done,
        progress_total=job.progress_total,
        stage=job.stage,
    )


def job_run(*, agency: Agency, job_id: int) -> str:
    """Run a queued job (the worker's entry point). Idempotent: a job that is not queued any more
    (a re-delivered message, a cancelled job) is left alone. Returns the job's state."""
    with scope(agency=agency):
        return _job_run(agency=agency, job_id=job_id)


def _job_run(*, agency: Agency, job_id: int) -> str:
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(agency=agency, pk=job_id).first()
        if job is None:
            return "missing"
        if job.state != Job.State.QUEUED:
            return job.state
        job.state, job.started_at = Job.State.RUNNING, timezone.now()
        job.save(update_fields=["state", "started_at"])
    run = JobRun(job)
    with translation.override(job.language or settings.LANGUAGE_CODE):
        try:
            result = _runner_of(job.kind)(agency=agency, job=job, run=run)
        except JobCancelled:
            _finish(
                job, state=Job.State.CANCELLED, error=_("Cancelled at your request; nothing was changed.")
            )
        except JobStopped as exc:
            _finish(job, state=Job.State.FAILED, error=str(exc), result={"limit": exc.limit})
        except SoftTimeLimitExceeded:
            _finish(
                job,
                state=Job.State.FAILED,
                error=time_limit_message(job.time_budget_seconds),
                result={"limit": "time"},
            )
        except JobFailed as exc:
            _finish(job, state=Job.State.FAILED, error=str(exc), result=exc.result)
        except DomainError as exc:  # a rule said no (an unknown id, a status rule, …): its own words
            _finish(job, state=Job.State.FAILED, error=str(exc.message), result={"details": exc.details})
        except Exception:  # noqa: BLE001 - the user gets a message and the job's number, the log the trace
            logger.exception("job %s (%s) of agency %s failed", job.pk, job.kind, agency.pk)
            _finish(
                job,
                state=Job.State.FAILED,
                error=_(
                    "The job stopped because of an unexpected error; nothing was changed. Try again later; if it "
                    "fails again, tell the operators job number %(id)s."
                )
                % {"id": job.pk},
            )
        else:
            _finish(job, state=Job.State.SUCCEEDED, result=result)
    return job.state


def jobs_sweep(*, now=None) -> dict:
    """Every minute (beat), across agencies: re-publish queued jobs whose message was lost, and
    fail running jobs whose worker died (past their time budget plus a grace period), delete
    result files older than JOB_FILE_RETENTION_DAYS, and expire the uploaded files of imports left
    unconfirmed for IMPORT_PENDING_RETENTION_HOURS (unless a job still needs them)."""
    from agency.services.imports import expire_pending_imports

    now = now or timezone.now()
    republished = failed = 0
    with scopes_disabled():
        stale = list(
            Job.objects.filter(state=Job.State.QUEUED, created_at__lt=now - SWEEP_QUEUED_AFTER).values_list(
                "pk", "agency_id"
            )[:200]
        )
        running = list(Job.objects.filter(state=Job.State.RUNNING).select_related("agency")[:500])
    for job_id, agency_id in stale:
        task_publish(RUN_TASK, kwargs={"agency_id": agency_id, "job_id": job_id}, after_commit=False)
        republished += 1
    expired = 0
    with scopes_disabled():
        old_files = list(
            Job.objects.filter(finished_at__lt=now - timedelta(days=settings.JOB_FILE_RETENTION_DAYS))
            .exclude(result_file="")
            .only("pk", "result_file")[:200]
        )
        for job in old_files:  # exports hold personal data: kept only JOB_FILE_RETENTION_DAYS
            job.result_file.delete(save=False)
            Job.objects.filter(pk=job.pk).update(result_file="")
            expired += 1
        busy_imports = [
            params.get("import_id")
            for params in Job.objects.filter(
                kind__in=[Job.Kind.IMPORT, Job.Kind.IMPORT_CHECK], state__in=[Job.State.QUEUED, Job.State.RUNNING]
            ).values_list("params", flat=True)
            if isinstance(params, dict) and params.get("import_id")
        ]
    imports_expired = expire_pending_imports(now=now, busy_import_ids=busy_imports)
    for job in running:
        if (
            job.started_at
            and job.started_at + timedelta(seconds=job.time_budget_seconds) + SWEEP_RUNNING_GRACE < now
        ):
            with scope(agency=job.agency), translation.override(job.language or settings.LANGUAGE_CODE):
                updated = Job.objects.filter(pk=job.pk, state=Job.State.RUNNING).update(
                    state=Job.State.FAILED,
                    finished_at=now,
                    result={"limit": "time"},
                    error=_(
                        "The worker running this job stopped before it finished. Nothing was changed: "
                        "start it again."
                    ),
                )
            failed += updated
    return {"republished": republished, "failed": failed, "files_deleted": expired, "imports_expired": imports_expired}


# --- deciding: immediate or a job ------------------------------------------------------------------


def plain_params(params) -> dict:
    """Filter parameters (a QueryDict or a dict) as JSON for the job row: name → list of values."""
    if params is None:
        return {}
    if hasattr(params, "lists"):
        return {k: list(v) for k, v in params.lists() if k != "csrfmiddlewaretoken"}
    return {k: (list(v) if isinstance(v, list | tuple | set) else v) for k, v in params.items()}


def _unfinished(*, agency: Agency, actor, kind: str):
    return jobs_of(agency=agency, user=actor).filter(
        kind=kind, state__in=[Job.State.QUEUED, Job.State.RUNNING]
    )


def import_rows_of(batch: SubAccountImport) -> int:
    """The data rows of a previewed file, from its preview counts."""
    result = batch.result or {}
    return sum(int(result.get(k) or 0) for k in ("created", "updated", "unchanged"))


def subaccount_import_confirm_or_job(*, agency: Agency, actor, import_id: int) -> dict | Job:
    """Confirm a previewed import now (the import's answer) or, for a file of more than
    IMPORT_JOB_THRESHOLD_ROWS rows, as a background job (the Job; the same job again on a double click)."""
    from agency.services.imports import subaccount_import_confirm

    batch = SubAccountImport.objects.filter(agency=agency, pk=import_id).first()
    if batch is None:
        raise SubAccountImport.DoesNotExist
    if batch.status in (SubAccountImport.Status.CANCELLED, SubAccountImport.Status.EXPIRED):
        raise DomainValidationError(_("The uploaded file is no longer there. Upload it again."))
    if not batch.result and batch.status != SubAccountImport.Status.APPLIED:
        raise Conflict(
            _("This file is still being checked: confirm it from its job's page when the check is done.")
        )
    rows = import_rows_of(batch)
    if rows <= settings.IMPORT_JOB_THRESHOLD_ROWS:
        return subaccount_import_confirm(agency=agency, actor=actor, import_id=batch.pk)
    if batch.status == SubAccountImport.Status.APPLIED:
        raise Conflict(_("This file has already been imported."))
    running = (
        _unfinished(agency=agency, actor=actor, kind=Job.Kind.IMPORT)
        .filter(params__import_id=batch.pk)
        .first()
    )
    if running is not None:
        return running
    return job_create(
        agency=agency, actor=actor, kind=Job.Kind.IMPORT, params={"import_id": batch.pk}, total=rows
    )


def subaccount_import_check_job(*, agency: Agency, actor, content: bytes, filename: str) -> Job | None:
    """The back office's upload of a file of more than IMPORT_JOB_THRESHOLD_ROWS rows (counted
    without reading them): kept, and previewed by a job whose page then offers the confirmation.
    None: preview it now (also when the file breaks a limit, so that the form names it)."""
    from agency.importers.reader import FileRejected, estimated_rows
    from agency.services.imports import keep_pending_file

    try:
        rows = max(estimated_rows(content) - 1, 0)
    except FileRejected:
        return None
    if rows <= settings.IMPORT_JOB_THRESHOLD_ROWS:
        return None
    batch = keep_pending_file(agency=agency, actor=actor, content=content, filename=filename, result={})
    return job_create(
        agency=agency, actor=actor, kind=Job.Kind.IMPORT_CHECK, params={"import_id": batch.pk}, total=rows
    )


def subaccount_import_job_for_upload(*, agency: Agency, actor, content: bytes, filename: str) -> Job | None:
    """The API's import of a file of more than IMPORT_JOB_THRESHOLD_ROWS rows (counted without
    reading them): kept and imported by a job. None: import it now (also when the file breaks a
    limit, so that the immediate path answers the refusal)."""
    from agency.importers.reader import FileRejected, estimated_rows
    from agency.services.imports import keep_pending_file

    try:
        rows = max(estimated_rows(content) - 1, 0)  # less the header row
    except FileRejected:
        return None
    if rows <= settings.IMPORT_JOB_THRESHOLD_ROWS:
        return None
    batch = keep_pending_file(agency=agency, actor=actor, content=content, filename=filename, result={})
    return job_create(
        agency=agency, actor=actor, kind=Job.Kind.IMPORT, params={"import_id": batch.pk}, total=rows
    )


def subaccount_export_job(
    *,
    agency: Agency,
    actor,
    count: int,
    ids,
    params,
    fmt: str,
    form: str = "",
    encoding: str = "",
    masked: bool = True,
    header: str = "",
) -> Job | None:
    """An export of more than EXPORT_JOB_THRESHOLD_ROWS accounts as a job that stores the file
    (None: export now). `header` set: the API's file (codes, header=en|zh); otherwise the back
    office's (form, encoding, masking)."""
    if count <= settings.EXPORT_JOB_THRESHOLD_ROWS:
        return None
    job_params = {
        "ids": [str(i) for i in ids] if ids else None,
        "filter": plain_params(params),
        "fmt": fmt,
        "form": form,
        "encoding": encoding,
        "masked": masked,
        "header": header,
    }
    return job_create(agency=agency, actor=actor, kind=Job.Kind.EXPORT, params=job_params, total=count)


def subaccount_bulk_job(
    *,
    agency: Agency,
    actor,
    action: str,
    ids=None,
    params=None,
    add=None,
    remove=None,
    values: dict | None = None,
) -> Job | None:
    """A bulk action (action="tag": add/remove; "owner": values) over more than
    BULK_JOB_THRESHOLD_ACCOUNTS accounts as a job (None: run it now). The arguments and the filter
    names are checked here, so that a mistake is a 400 now, not a failed job later."""
    from agency.selectors import subaccount_selection_queryset
    from agency.services.subaccounts import bulk_owner_values, bulk_tag_arguments

    if ids is None and params is None:
        return None
    count = (
        len({str(i) for i in ids})
        if ids is not None
        else (subaccount_selection_queryset(agency=agency, params=params).count())
    )
    if count <= settings.BULK_JOB_THRESHOLD_ACCOUNTS:
        return None
    selection = {
        "ids": [str(i) for i in ids] if ids is not None else None,
        "filter": plain_params(params) if ids is None else None,
    }
    if action == "tag":
        add, remove = bulk_tag_arguments(add=add, remove=remove)  # "a, b" from a form → ["a", "b"]
        return job_create(
            agency=agency,
            actor=actor,
            kind=Job.Kind.BULK_TAG,
            total=count,
            params={**selection, "add": list(add), "remove": sorted(remove)},
        )
    values = {k: v for k, v in (values or {}).items() if v not in (None, "")}
    bulk_owner_values(**values)
    return job_create(
        agency=agency,
        actor=actor,
        kind=Job.Kind.BULK_OWNER,
        total=count,
        params={**selection, "values": values},
    )
