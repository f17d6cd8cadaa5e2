"""Spreadsheet import of sub-accounts: dry run, all-or-nothing apply, and the back office's
upload → preview → confirm flow (the uploaded file waits in a SubAccountImport row)."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from agency.api.errors import error_body
from agency.exceptions import Conflict
from agency.importers.reader import FileRejected, check_size
from agency.importers.subaccounts import ImportPlan, apply_plan, file_error, plan_import
from agency.models import Agency, SubAccountImport

STORED_ERRORS = 1000  # errors kept on the import row for the preview page


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
            agency=agency, original_name=filename[:255], content=content, created_by=actor,
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
    batch = SubAccountImport.objects.create(
        agency=agency, original_name=filename[:255], content=content, created_by=actor,
        result={**answer, "errors": answer["errors"][:STORED_ERRORS]},
    )
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
        plan = plan_import(agency=agency, content=bytes(batch.content), lock=True, progress=progress)
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
        batch.save(update_fields=["status", "applied_at", "result"])
    return answer
