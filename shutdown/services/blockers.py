"""An operator's answer to a blocker (R4): a recorded resolution, or an appeal through the
channel the rule names (optionally with a file). Either way the item is checked again after."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from agency.exceptions import Conflict, DomainValidationError
from agency.models import Agency
from shutdown import rules
from shutdown.events import event_record
from shutdown.models import Blocker, CheckKind, DocumentKind, EventKind, ShutdownTask
from shutdown.services.documents import document_upload
from shutdown.services.tasks import _require_editable

# Missing documents and topic targets are answered by uploading or naming, not by a note.
ANSWERABLE_CHECKS = {CheckKind.COMPLIANCE, CheckKind.PERMISSIONS, CheckKind.TECHNICAL}


def _locked(blocker: Blocker) -> Blocker:
    _require_editable(ShutdownTask.objects.select_for_update().get(pk=blocker.task_id))
    locked = Blocker.objects.select_for_update(of=("self",)).select_related("item", "task").get(pk=blocker.pk)
    if locked.check_type not in ANSWERABLE_CHECKS:
        raise Conflict(
            _("“%(reason)s” is answered by %(how)s, not by a note.")
            % {"reason": rules.blocker_reason(locked.code), "how": rules.blocker_channel(locked.code)},
            code="not_answerable")
    return locked


def blocker_resolve(*, agency: Agency, blocker: Blocker, actor, note: str) -> Blocker:
    if not (note or "").strip():
        raise DomainValidationError(_("Say how the blocker was resolved."), details={"note": ["required"]})
    with transaction.atomic():
        blocker = _locked(blocker)
        if blocker.state not in Blocker.BLOCKING_STATES:
            raise Conflict(_("This blocker is already “%(s)s”.") % {"s": blocker.get_state_display()},
                           code="illegal_transition")
        before = blocker.state
        blocker.state = Blocker.State.RESOLVED
        blocker.resolution_note = note.strip()
        blocker.resolved_by, blocker.resolved_at = actor, timezone.now()
        blocker.save()
        event_record(agency=agency, task=blocker.task, item=blocker.item, kind=EventKind.BLOCKER_RESOLVED, actor=actor,
                     data={"blocker": blocker.pk, "code": blocker.code, "rule": blocker.rule, "from": before,
                           "note": blocker.resolution_note})
    return blocker


def blocker_appeal(*, agency: Agency, blocker: Blocker, actor, note: str, upload=None) -> Blocker:
    if not (note or "").strip():
        raise DomainValidationError(_("Describe the appeal (ticket number, what was sent)."),
                                    details={"note": ["required"]})
    with transaction.atomic():
        blocker = _locked(blocker)
        if blocker.state != Blocker.State.OPEN:
            raise Conflict(_("Only an open blocker can be appealed; this one is “%(s)s”.")
                           % {"s": blocker.get_state_display()}, code="illegal_transition")
        document = None
        if upload is not None:
            document = document_upload(agency=agency, task=blocker.task, item=blocker.item, actor=actor,
                                       kind=DocumentKind.APPEAL_EVIDENCE, upload=upload, record=False)
        blocker.state = Blocker.State.APPEALED
        blocker.appeal_note = note.strip()
        blocker.appeal_document = document
        blocker.appealed_by, blocker.appealed_at = actor, timezone.now()
        blocker.save()
        event_record(agency=agency, task=blocker.task, item=blocker.item, kind=EventKind.BLOCKER_APPEALED, actor=actor,
                     data={"blocker": blocker.pk, "code": blocker.code, "channel": rules.blocker_channel(blocker.code),
                           "note": blocker.appeal_note, "document_sha256": document.sha256 if document else None})
    return blocker
