"""Uploads: checked by content (not by name), size-limited, stored through Django's storage
API under the agency's folder, with a SHA-256 recorded."""

import hashlib
import uuid

import filetype
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from agency.exceptions import Conflict, DomainValidationError
from agency.models import Agency
from shutdown.events import event_record
from shutdown.models import DocumentKind, EventKind, ShutdownTask, TaskDocument, TaskItem
from shutdown.states import TaskState

ALLOWED_TYPES = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}
# Evidence that comes with a confirmation (who confirmed what): uploaded only through it
# (R1.3 unbinding: shutdown.services.preparation.unbinding_confirm; R9.1 preparation ticks).
CONFIRMATION_KINDS = {DocumentKind.UNBINDING_EVIDENCE: gettext_lazy("confirm the unbinding on the item's page"),
                      DocumentKind.PREPARATION_EVIDENCE: gettext_lazy("tick the phase in the preparation checklist")}


def upload_check(upload, *, field: str = "file") -> tuple[str, str, str]:
    """(content type, extension, sha256) of an acceptable upload, or DomainValidationError."""
    name = getattr(upload, "name", "") or _("the file")
    if upload is None:
        raise DomainValidationError(_("Choose a file to upload."), details={field: ["required"]})
    if upload.size > settings.MAX_UPLOAD_BYTES:
        raise DomainValidationError(
            _("“%(name)s” is %(size)s: the limit is %(limit)s.")
            % {"name": name, "size": filesizeformat(upload.size), "limit": filesizeformat(settings.MAX_UPLOAD_BYTES)},
            details={field: ["too_large"]})
    if upload.size == 0:
        raise DomainValidationError(_("“%(name)s” is empty.") % {"name": name}, details={field: ["empty"]})
    upload.seek(0)
    kind = filetype.guess(upload.read(512))
    upload.seek(0)
    if kind is None or kind.mime not in ALLOWED_TYPES:
        raise DomainValidationError(
            _("“%(name)s” is not a PDF, JPEG or PNG file (checked by its content, not its name).") % {"name": name},
            details={field: ["type"]})
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return kind.mime, ALLOWED_TYPES[kind.mime], digest.hexdigest()


def document_upload(*, agency: Agency, task: ShutdownTask, actor, kind: str, upload, item: TaskItem | None = None,
                    record: bool = True, confirmation: bool = False) -> TaskDocument:
    """`confirmation=True`: the upload comes with a confirmation (CONFIRMATION_KINDS)."""
    if kind not in DocumentKind.values:
        raise DomainValidationError(_("Unknown document kind “%(k)s”.") % {"k": kind}, details={"kind": [kind]})
    if kind in CONFIRMATION_KINDS and not confirmation:
        raise DomainValidationError(_("“%(kind)s” is uploaded with its confirmation: %(how)s.")
                                    % {"kind": DocumentKind(kind).label, "how": CONFIRMATION_KINDS[kind]},
                                    details={"kind": [kind]})
    if item is not None and item.task_id != task.pk:
        raise DomainValidationError(_("That item belongs to another task."), details={"item": [item.pk]})
    if task.state == TaskState.CANCELLED:
        raise Conflict(_("The task is cancelled: no more documents."), code="cancelled")
    mime, ext, sha256 = upload_check(upload)
    path = f"shutdown/agency_{agency.pk}/task_{task.pk}/{uuid.uuid4().hex}.{ext}"
    stored = default_storage.save(path, upload)
    try:
        with transaction.atomic():
            document = TaskDocument.objects.create(
                agency=agency, task=task, item=item, kind=kind, file=stored,
                original_name=(getattr(upload, "name", "") or "")[:255], content_type=mime, size=upload.size,
                sha256=sha256, uploaded_by=actor,
            )
            if record:
                event_record(agency=agency, task=task, item=item, kind=EventKind.DOCUMENT_UPLOADED, actor=actor,
                             data={"document": document.pk, "kind": kind, "sha256": sha256, "size": upload.size})
    except Exception:
        default_storage.delete(stored)
        raise
    return document
