"""Spreadsheet import of sub-accounts: dry run, all-or-nothing apply, and the back office's
upload → preview → confirm flow.

The uploaded file waits for its confirmation in Django's storage (`SubAccountImport.file`: local
disk under MEDIA_ROOT, or the bucket when STORAGE_S3_BUCKET is set), under the agency's folder,
so that the confirmation may land on another web host or a worker. It is deleted once the import
is applied, cancelled or expired (`expire_pending_imports`, run by the jobs sweep), after the
transaction that changed the row commits."""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from agency.api.errors import error_body
from agency.exceptions import Conflict, DomainValidationError
from agency.importers.reader import FileRejected, check_size
from agency.importers.subaccounts import ImportPlan, apply_plan, file_error, plan_import
from agency.models import Agency, SubAccountImport

STORED_ERRORS = 1000  # errors kept on the import row for the preview page

logger = logging.getLogger(__name__)


def _file_gone() -> DomainValidationError:
    return DomainValidationError(_("The uploaded file is no longer there. Upload it again."))


def keep_pending_file(*, agency: Agency, actor, content: bytes, filename: str, result: dict) -> SubAccountImport:
    """A new pending import: the file into storage (under the agency's folder), then its row."""
    batch = SubAccountImport(agency=agency, original_name=filename[:255], created_by=actor, result=result)
    batch.file.save(filename or "upload", ContentFile(content), save=False)
    try:
        batch.save()
    except BaseException:
        batch.file.delete(save=False)
        raise
    return batch


def pending_content(batch: SubAccountImport) -> bytes:
    """The bytes of a pending import's file, from whichever storage holds it."""
    if batch.status in (SubAccountImport.Status.CANCELLED, SubAccountImport.Status.EXPIRED) or not batch.file:
        raise _file_gone()
    try:
        with batch.file.open("rb") as handle:
            return handle.read()
    except FileNotFoundError as exc:
        raise _file_gone() from exc


def _delete_stored(storage, name: str) -> None:
    try:
        storage.delete(name)
    except Exception:  # noqa: BLE001 - the row no longer points at it; an orphan is logged, not fatal
        logger.exception("could not delete the import file %s from storage", name)


def _release_file(batch: SubAccountImport) -> None:
    """Forget the row's file (the caller saves `file`) and delete it once the transaction commits,
    so that a rolled-back confirmation still finds its file."""
    if not batch.file:
        return
    storage, name = batch.file.storage, batch.file.name
    batch.file = ""
    transaction.on_commit(lambda: _delete_stored(storage, name))


def rejected_answer(exc: FileRejected, *, dry_run: bool) -> dict:
    """The answer to a file refused as a whole (a limit, the type): the import result with its one
    error, plus the project's error shape naming the limit (`error.details.limit`)."""
    plan = ImportPlan()
    plan.file_errors.append(file_error(str(exc)))
    return {**plan.answer(dry_run=dry_run, applied=False),
            **error_body(400, "file_rejected", str(exc), exc.details)}


def read_upload(upload) -> bytes:
    """An uploaded file → bytes, refusing oversized files before reading them."""
    check_size(upload.size)
    return upload.read()


def subaccount_import(*, agency: Agency, actor, content: bytes, filename: str, dry_run: bool) -> dict:
    """Import a CSV/XLSX file. Dry run: validate and count, write nothing. Otherwise the
    same, and write everything only when no row has an error."""
    try:
        check_size(len(content))
    except FileRejected as exc:
        return rejected_answer(exc, dry_run=dry_run)
    if dry_run:
        plan = plan_import(agency=agency, content=content)
        if plan.rejected:
            return rejected_answer(plan.rejected, dry_run=True)
        return plan.answer(dry_run=True, applied=False)
    with transaction.atomic():
        plan = plan_import(agency=agency, content=content, lock=True)
        if plan.rejected:
            return rejected_answer(plan.rejected, dry_run=False)
        if not plan.ok:
            return plan.answer(dry_run=False, applied=False)
        batch = SubAccountImport.objects.create(
            agency=agency, original_name=filename[:255], created_by=actor,
            status=SubAccountImport.Status.APPLIED, applied_at=timezone.now(),
        )
        apply_plan(agency=agency, actor=actor, plan=plan, import_batch=batch)
        answer = plan.answer(dry_run=False, applied=True)
        batch.result = {**answer, "errors": []}
        batch.save(update_fields=["result"])
    return answer


def subaccount_import_upload(*, agency: Agency, actor, content: bytes, filename: str) -> tuple[SubAccountImport, ImportPlan]:
    """Keep the file and preview it (nothing else is written). FileRejected when the file breaks a limit."""
    check_size(len(content))
    plan = plan_import(agency=agency, content=content)
    if plan.rejected:
        raise plan.rejected
    answer = plan.answer(dry_run=True, applied=False)
    batch = keep_pending_file(agency=agency, actor=actor, content=content, filename=filename,
                              result={**answer, "errors": answer["errors"][:STORED_ERRORS]})
    return batch, plan


def subaccount_import_confirm(*, agency: Agency, actor, import_id: int, progress=None) -> dict:
    """Apply a previewed file. Re-validated against the registry as it is now; all-or-nothing.
    `progress(rows)` (a background job's) is called as the rows are read again."""
    with transaction.atomic():
        batch = SubAccountImport.objects.select_for_update().filter(agency=agency, pk=import_id).first()
        if batch is None:
            raise SubAccountImport.DoesNotExist
        if batch.status == SubAccountImport.Status.APPLIED:
            raise Conflict(_("This file has already been imported."))
        plan = plan_import(agency=agency, content=pending_content(batch), lock=True, progress=progress)
        if not plan.ok:
            answer = plan.answer(dry_run=False, applied=False)
            batch.result = {**answer, "errors": answer["errors"][:STORED_ERRORS]}
            batch.save(update_fields=["result"])
            return answer
        apply_plan(agency=agency, actor=actor, plan=plan, import_batch=batch)
        answer = plan.answer(dry_run=False, applied=True)
        batch.status = SubAccountImport.Status.APPLIED
        batch.applied_at = timezone.now()
        batch.result = answer
        _release_file(batch)
        batch.save(update_fields=["status", "applied_at", "result", "file"])
    return answer


def subaccount_import_cancel(*, agency: Agency, actor, import_id: int) -> SubAccountImport:
    """Drop a previewed file: nothing is imported and the file is deleted from storage.
    Cancelling twice is harmless; an applied import cannot be cancelled."""
    with transaction.atomic():
        batch = SubAccountImport.objects.select_for_update().filter(agency=agency, pk=import_id).first()
        if batch is None:
            raise SubAccountImport.DoesNotExist
        if batch.status == SubAccountImport.Status.APPLIED:
            raise Conflict(_("This file has already been imported."))
        if batch.status == SubAccountImport.Status.PREVIEWED:
            batch.status = SubAccountImport.Status.CANCELLED
        _release_file(batch)
        batch.save(update_fields=["status", "file"])
    return batch


def expire_pending_imports(*, now=None, busy_import_ids=(), limit: int = 200) -> int:
    """Across agencies: previewed files nobody confirmed within IMPORT_PENDING_RETENTION_HOURS are
    deleted from storage and their imports marked expired (`busy_import_ids`: imports a queued or
    running job still needs). Returns how many expired."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.IMPORT_PENDING_RETENTION_HOURS)
    expired = 0
    with scopes_disabled():
        stale = list(
            SubAccountImport.objects.filter(status=SubAccountImport.Status.PREVIEWED, created_at__lt=cutoff)
            .exclude(pk__in=list(busy_import_ids))
            .values_list("pk", flat=True)[:limit]
        )
        for pk in stale:
            with transaction.atomic():
                batch = (
                    SubAccountImport.objects.select_for_update(skip_locked=True)
                    .filter(pk=pk, status=SubAccountImport.Status.PREVIEWED)
                    .first()
                )
                if batch is None:  # confirmed or cancelled meanwhile, or being confirmed right now
                    continue
                batch.status = SubAccountImport.Status.EXPIRED
                _release_file(batch)
                batch.save(update_fields=["status", "file"])
                expired += 1
    return expired
