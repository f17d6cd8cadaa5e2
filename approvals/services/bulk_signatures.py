"""“Request signatures again” as a bulk action of the task page (shutdown.services.bulk): a fresh
link for every selected owner who has not answered yet, in a fixed number of statements."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from agency.exceptions import Conflict
from notifications.services.enqueue import messages_enqueue_bulk
from shutdown.events import events_record_bulk
from shutdown.models import EventKind, ShutdownTask, TaskItem
from shutdown.services.bulk import SKIP_INACTIVE, BulkAction, BulkResult
from shutdown.states import INACTIVE_ITEM_STATES, ItemState, TaskState

from ..models import SignatureRequest
from .signatures import _link_messages, _new_token

SKIP_NO_REQUEST = gettext_lazy("no signature was requested yet")
SKIP_ANSWERED = gettext_lazy("the owner has already answered")
SKIP_NOT_APPROVED = gettext_lazy("not approved")
RESENDABLE = (SignatureRequest.State.PENDING, SignatureRequest.State.REVOKED)


def signatures_resend_bulk(*, agency, task: ShutdownTask, actor, items) -> BulkResult:
    """Send the selected owners a new signing link (the old links stop working)."""
    result = BulkResult(action="signatures")
    with transaction.atomic():
        task = ShutdownTask.objects.select_for_update().get(pk=task.pk)
        if task.state != TaskState.APPROVED:
            raise Conflict(
                _("Signatures are requested while the task is approved and not yet executing."),
                code="wrong_state",
            )
        rows = list(
            TaskItem.objects.select_for_update()
            .filter(task=task, pk__in=items.values("pk"))
            .order_by("pk")  # not the model's ordering, which joins the nullable tier (no FOR UPDATE there)
            .values_list("pk", "state")
        )
        result.selected = len(rows)
        states = dict(rows)
        result.skip(SKIP_INACTIVE, sum(1 for s in states.values() if s in INACTIVE_ITEM_STATES))
        result.skip(
            SKIP_NOT_APPROVED,
            sum(1 for s in states.values() if s not in INACTIVE_ITEM_STATES and s != ItemState.APPROVED),
        )
        approved = [pk for pk, s in rows if s == ItemState.APPROVED]
        requests = list(
            SignatureRequest.objects.select_for_update()
            .filter(task=task, item_id__in=approved)
            .order_by("pk")
        )
        result.skip(SKIP_NO_REQUEST, len(approved) - len(requests))
        resend = [r for r in requests if r.state in RESENDABLE]
        result.skip(SKIP_ANSWERED, len(requests) - len(resend))
        if not resend:
            return result
        now = timezone.now()
        tokens = [_new_token(req, now) for req in resend]
        for req in resend:
            req.updated_at = now
            req.task = task  # the messages name the task: no query per request
        SignatureRequest.objects.bulk_update(
            resend,
            [
                "token_hash",
                "token_version",
                "link_expires_at",
                "link_sent_at",
                "code_hash",
                "code_expires_at",
                "code_attempts",
                "code_sends",
                "state",
                "updated_at",
            ],
            batch_size=500,
        )
        specs = [
            spec
            for req, token in zip(resend, tokens, strict=True)
            for spec in _link_messages(agency=agency, req=req, token=token, now=now)
        ]
        messages_enqueue_bulk(agency=agency, specs=specs)
        events_record_bulk(
            agency=agency,
            task=task,
            kind=EventKind.SIGNATURE_LINK_RESENT,
            actor=actor,
            rows=[
                (req.item_id, {"signature": req.pk, "version": req.token_version, "bulk": True})
                for req in resend
            ],
        )
        result.done = len(resend)
    return result


BULK_ACTION = BulkAction(
    "signatures",
    gettext_lazy("Request signatures again"),
    "signatures.manage",
    lambda *, agency, task, actor, items, params, upload: signatures_resend_bulk(
        agency=agency, task=task, actor=actor, items=items
    ),
    (TaskState.APPROVED,),
)
