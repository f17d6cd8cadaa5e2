"""Bulk actions on a task's items: resolve one blocker kind, exclude, move to another tier,
upload one document for many accounts (and actions other apps register, e.g. the approvals
app's “request signatures again”).

Each action is one service function: (task, a selection of items, the action's parameters) →
a BulkResult (“N done, M skipped because …”). It runs in one transaction, locks the task and
the item rows it changes (select_for_update), writes one timeline event per changed item in a
fixed number of statements (shutdown.events.events_record_bulk), and costs the same number of
queries for 10 items or 10,000. `bulk_run` dispatches by name; a background job can wrap it
(its arguments are plain values except the uploaded file).
"""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from agency.exceptions import Conflict, DomainValidationError
from agency.models import Agency
from shutdown import rules
from shutdown.events import events_record_bulk
from shutdown.filters import item_selection
from shutdown.models import Blocker, DocumentKind, EventKind, ShutdownTask, TaskDocument, TaskItem, Tier
from shutdown.services.blockers import ANSWERABLE_CHECKS
from shutdown.services.documents import upload_check
from shutdown.services.precheck import precheck_start
from shutdown.services.tasks import _require_editable
from shutdown.services.transitions import task_state_roll_up
from shutdown.states import EDITABLE_TASK_STATES, INACTIVE_ITEM_STATES, ITEM_TRANSITIONS, ItemState, TaskState

# Why an item was left alone (shown as “M skipped because …”).
SKIP_INACTIVE = gettext_lazy("excluded or cancelled")
SKIP_NO_BLOCKER = gettext_lazy("no open blocker of this kind")
SKIP_SAME_TIER = gettext_lazy("already in that tier")
SKIP_ALREADY_EXCLUDED = gettext_lazy("already excluded")
SKIP_STATE = gettext_lazy("their state does not allow it")


@dataclass
class BulkResult:
    action: str
    selected: int = 0
    done: int = 0
    skipped: Counter = field(default_factory=Counter)  # reason (words) → count
    rechecked: int = 0

    def skip(self, reason, n: int = 1) -> None:
        if n:
            self.skipped[str(reason)] += n

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    @property
    def message(self) -> str:
        """“12 accounts done, 3 skipped because: … (2); … (1). 12 accounts are being checked again.”"""
        done = ngettext("%(n)d account done", "%(n)d accounts done", self.done) % {"n": self.done}
        if self.skipped:
            reasons = _("; ").join(
                _("%(reason)s (%(n)d)") % {"reason": reason, "n": n}
                for reason, n in self.skipped.most_common()
            )
            skipped = ngettext(
                "%(n)d skipped because: %(reasons)s", "%(n)d skipped because: %(reasons)s", self.skipped_total
            ) % {"n": self.skipped_total, "reasons": reasons}
            text = _("%(done)s, %(skipped)s.") % {"done": done, "skipped": skipped}
        else:
            text = _("%(done)s.") % {"done": done}
        if self.rechecked:
            rechecked = ngettext(
                "%(n)d account is being checked again.",
                "%(n)d accounts are being checked again.",
                self.rechecked,
            ) % {"n": self.rechecked}
            text = _("%(result)s %(rechecked)s") % {"result": text, "rechecked": rechecked}
        return text

    def as_dict(self) -> dict:
        return {
            "action": self.action,
            "selected": self.selected,
            "done": self.done,
            "skipped": [{"reason": r, "count": n} for r, n in self.skipped.most_common()],
            "rechecked": self.rechecked,
            "message": self.message,
        }


# --- shared steps ------------------------------------------------------------------------------


def _lock_task(task: ShutdownTask) -> ShutdownTask:
    return ShutdownTask.objects.select_for_update().get(pk=task.pk)


def _lock_items(task: ShutdownTask, items) -> list[tuple]:
    """(pk, state, tier_id, sub_account_id) of the selected items, locked, in id order."""
    return list(
        TaskItem.objects.select_for_update()
        .filter(task=task, pk__in=items.values("pk"))
        .order_by("pk")
        .values_list("pk", "state", "tier_id", "sub_account_id")
    )


def _split_inactive(rows, result: BulkResult) -> list[tuple]:
    active = [r for r in rows if r[1] not in INACTIVE_ITEM_STATES]
    result.skip(SKIP_INACTIVE, len(rows) - len(active))
    return active


def _recheck(*, agency, task, actor, item_ids: list[int], result: BulkResult) -> None:
    """Check the answered items again (as the single-item pages ask the operator to)."""
    if not item_ids or task.state not in EDITABLE_TASK_STATES:
        return
    precheck_start(agency=agency, task=task, actor=actor, item_ids=item_ids)
    result.rechecked = len(item_ids)


def _store_once(*, agency, task, upload) -> tuple[str, str, str]:
    """Check the file by content and store it once for every account: (path, content type, sha256)."""
    mime, ext, sha256 = upload_check(upload)
    import uuid

    path = default_storage.save(
        f"shutdown/agency_{agency.pk}/task_{task.pk}/{uuid.uuid4().hex}.{ext}", upload
    )
    return path, mime, sha256


def _documents_for(*, agency, task, actor, item_ids, kind, upload, stored) -> dict[int, TaskDocument]:
    path, mime, sha256 = stored
    documents = [
        TaskDocument(
            agency=agency,
            task=task,
            item_id=item_id,
            kind=kind,
            file=path,
            original_name=(getattr(upload, "name", "") or "")[:255],
            content_type=mime,
            size=upload.size,
            sha256=sha256,
            uploaded_by=actor,
        )
        for item_id in item_ids
    ]
    TaskDocument.objects.bulk_create(documents, batch_size=500)
    return {d.item_id: d for d in documents}


# --- the actions -------------------------------------------------------------------------------


def items_resolve_blocker(
    *,
    agency: Agency,
    task: ShutdownTask,
    actor,
    items,
    code: str,
    note: str,
    upload=None,
    recheck: bool = True,
) -> BulkResult:
    """Resolve the open blocker `code` of every selected item with one note (and one document,
    stored once, attached to each item), then check those items again."""
    result = BulkResult(action="resolve")
    if code not in rules.BLOCKERS:
        raise DomainValidationError(
            _("Choose the kind of blocker to resolve."), details={"code": ["required"]}
        )
    check = rules.BLOCKERS[code][0]
    if check not in ANSWERABLE_CHECKS:
        raise Conflict(
            _("“%(reason)s” is answered by %(how)s, not by a note.")
            % {"reason": rules.blocker_reason(code), "how": rules.blocker_channel(code)},
            code="not_answerable",
        )
    note = (note or "").strip()
    if not note:
        raise DomainValidationError(_("Say how the blockers were resolved."), details={"note": ["required"]})
    stored = None
    try:
        with transaction.atomic():
            task = _lock_task(task)
            _require_editable(task)
            rows = _lock_items(task, items)
            result.selected = len(rows)
            active = {r[0]: r for r in _split_inactive(rows, result)}
            blockers = list(
                Blocker.objects.select_for_update()
                .filter(task=task, code=code, state__in=Blocker.BLOCKING_STATES, item__in=items.values("pk"))
                .exclude(item__state__in=INACTIVE_ITEM_STATES)
                .order_by("item_id")
                .values_list("pk", "item_id", "state")
            )
            result.skip(SKIP_NO_BLOCKER, len(active) - len({b[1] for b in blockers}))
            if not blockers:
                return result
            now = timezone.now()
            item_ids = [b[1] for b in blockers]
            documents = {}
            if upload is not None:
                stored = _store_once(agency=agency, task=task, upload=upload)
                documents = _documents_for(
                    agency=agency,
                    task=task,
                    actor=actor,
                    item_ids=item_ids,
                    kind=DocumentKind.APPEAL_EVIDENCE,
                    upload=upload,
                    stored=stored,
                )
            Blocker.objects.filter(pk__in=[b[0] for b in blockers]).update(
                state=Blocker.State.RESOLVED, resolution_note=note, resolved_by=actor, resolved_at=now
            )
            rule = rules.BLOCKERS[code][1]
            events_record_bulk(
                agency=agency,
                task=task,
                kind=EventKind.BLOCKER_RESOLVED,
                actor=actor,
                rows=[
                    (
                        item_id,
                        {
                            "blocker": pk,
                            "code": code,
                            "rule": rule,
                            "from": state,
                            "note": note,
                            "bulk": True,
                            "document_sha256": documents[item_id].sha256 if item_id in documents else None,
                        },
                    )
                    for pk, item_id, state in blockers
                ],
            )
            result.done = len(blockers)
            if recheck:
                blocked = [i for i in item_ids if active.get(i, (None, None))[1] == ItemState.BLOCKED]
                _recheck(agency=agency, task=task, actor=actor, item_ids=blocked, result=result)
    except Exception:
        if stored is not None:  # the transaction rolled back: no row points at the file
            default_storage.delete(stored[0])
        raise
    return result


def items_exclude(*, agency: Agency, task: ShutdownTask, actor, items, reason: str = "") -> BulkResult:
    result = BulkResult(action="exclude")
    with transaction.atomic():
        task = _lock_task(task)
        _require_editable(task)
        rows = _lock_items(task, items)
        result.selected = len(rows)
        changed = []
        for pk, state, _tier, sub_account_id in rows:
            if state == ItemState.EXCLUDED:
                result.skip(SKIP_ALREADY_EXCLUDED)
            elif ItemState.EXCLUDED not in ITEM_TRANSITIONS.get(state, set()):
                result.skip(SKIP_STATE)
            else:
                changed.append((pk, state, sub_account_id))
        if not changed:
            return result
        TaskItem.objects.filter(pk__in=[c[0] for c in changed]).update(
            state=ItemState.EXCLUDED, updated_at=timezone.now()
        )
        events_record_bulk(
            agency=agency,
            task=task,
            kind=EventKind.ITEM_EXCLUDED,
            actor=actor,
            rows=[
                (
                    pk,
                    {
                        "from": state,
                        "to": str(ItemState.EXCLUDED),
                        "sub_account": sub,
                        "reason": reason,
                        "bulk": True,
                    },
                )
                for pk, state, sub in changed
            ],
        )
        result.done = len(changed)
        task_state_roll_up(agency=agency, task=task, actor=actor)
    return result


def items_move(*, agency: Agency, task: ShutdownTask, actor, items, tier: Tier) -> BulkResult:
    result = BulkResult(action="move")
    if tier is None:
        raise DomainValidationError(
            _("Choose the tier to move the accounts to."), details={"tier": ["required"]}
        )
    with transaction.atomic():
        task = _lock_task(task)
        _require_editable(task)
        if tier.task_id != task.pk:
            raise DomainValidationError(_("That tier belongs to another task."), details={"tier": [tier.pk]})
        rows = _split_inactive(_lock_items(task, items), result)
        result.selected = result.skipped_total + len(rows)
        changed = [r for r in rows if r[2] != tier.pk]
        result.skip(SKIP_SAME_TIER, len(rows) - len(changed))
        if not changed:
            return result
        TaskItem.objects.filter(pk__in=[r[0] for r in changed]).update(tier=tier, updated_at=timezone.now())
        events_record_bulk(
            agency=agency,
            task=task,
            kind=EventKind.ITEM_MOVED,
            actor=actor,
            rows=[
                (pk, {"from_tier": tier_id, "to_tier": tier.pk, "bulk": True})
                for pk, _s, tier_id, _a in changed
            ],
        )
        result.done = len(changed)
    return result


def items_upload_document(
    *, agency: Agency, task: ShutdownTask, actor, items, kind: str, upload, recheck: bool = True
) -> BulkResult:
    """One file for many accounts (e.g. the agency's one GDPR declaration): stored once, listed on
    each selected account; the blocked ones are checked again."""
    result = BulkResult(action="upload")
    if kind not in DocumentKind.values:
        raise DomainValidationError(_("Choose the document type."), details={"kind": ["required"]})
    if upload is None:
        raise DomainValidationError(_("Choose a file to upload."), details={"file": ["required"]})
    with transaction.atomic():
        task = _lock_task(task)
        if task.state == TaskState.CANCELLED:
            raise Conflict(_("The task is cancelled: no more documents."), code="cancelled")
        rows = _lock_items(task, items)
        result.selected = len(rows)
        active = _split_inactive(rows, result)
        if not active:
            return result
        stored = _store_once(agency=agency, task=task, upload=upload)
        try:
            documents = _documents_for(
                agency=agency,
                task=task,
                actor=actor,
                item_ids=[r[0] for r in active],
                kind=kind,
                upload=upload,
                stored=stored,
            )
            _path, _mime, sha256 = stored
            events_record_bulk(
                agency=agency,
                task=task,
                kind=EventKind.DOCUMENT_UPLOADED,
                actor=actor,
                rows=[
                    (pk, {"kind": kind, "sha256": sha256, "size": upload.size, "bulk": True})
                    for pk in documents
                ],
            )
        except Exception:
            default_storage.delete(stored[0])
            raise
        result.done = len(active)
        if recheck:
            blocked = [r[0] for r in active if r[1] == ItemState.BLOCKED]
            _recheck(agency=agency, task=task, actor=actor, item_ids=blocked, result=result)
    return result


# --- actions of other apps, and the dispatcher ---------------------------------------------------


@dataclass(frozen=True)
class BulkAction:
    name: str
    label: object
    permission: str
    run: Callable  # (*, agency, task, actor, items, params, upload) -> BulkResult
    # the task states in which the action is offered on the page
    states: tuple = ()


BULK_ACTIONS: dict[str, BulkAction] = {}


def register_bulk_action(action: BulkAction) -> BulkAction:
    """Apps above shutdown add actions (the approvals app: request signatures again)."""
    BULK_ACTIONS.setdefault(action.name, action)
    return action


def _tier_of(task, params):
    value = str(params.get("tier") or "")
    if not value.isdigit():
        return None
    tier = Tier.objects.filter(task=task, pk=int(value)).first()
    if tier is None:
        raise DomainValidationError(_("That tier belongs to another task."), details={"tier": [value]})
    return tier


PREPARATION = tuple(EDITABLE_TASK_STATES)
for _action in (
    BulkAction(
        "resolve",
        gettext_lazy("Resolve a blocker kind"),
        "tasks.edit",
        lambda *, agency, task, actor, items, params, upload: items_resolve_blocker(
            agency=agency,
            task=task,
            actor=actor,
            items=items,
            code=params.get("code", ""),
            note=params.get("note", ""),
            upload=upload,
        ),
        PREPARATION,
    ),
    BulkAction(
        "exclude",
        gettext_lazy("Exclude from the task"),
        "tasks.edit",
        lambda *, agency, task, actor, items, params, upload: items_exclude(
            agency=agency, task=task, actor=actor, items=items, reason=params.get("reason", "")
        ),
        PREPARATION,
    ),
    BulkAction(
        "move",
        gettext_lazy("Move to another tier"),
        "tasks.edit",
        lambda *, agency, task, actor, items, params, upload: items_move(
            agency=agency, task=task, actor=actor, items=items, tier=_tier_of(task, params)
        ),
        PREPARATION,
    ),
    BulkAction(
        "upload",
        gettext_lazy("Upload one document for all of them"),
        "tasks.edit",
        lambda *, agency, task, actor, items, params, upload: items_upload_document(
            agency=agency, task=task, actor=actor, items=items, kind=params.get("kind", ""), upload=upload
        ),
        tuple(s for s in TaskState.values if s != TaskState.CANCELLED),
    ),
):
    register_bulk_action(_action)


def bulk_run(
    *,
    agency: Agency,
    task: ShutdownTask,
    actor,
    action: str,
    ids=None,
    filters=None,
    params: dict | None = None,
    upload=None,
) -> BulkResult:
    """Run the bulk action `action` on the ticked `ids`, or (ids None) on every item matching
    `filters` (shutdown.filters: unknown names refused)."""
    spec = BULK_ACTIONS.get(action or "")
    if spec is None:
        raise DomainValidationError(_("Choose a bulk action."), details={"action": [action or "required"]})
    items = item_selection(task=task, ids=ids, params=filters or {})
    return spec.run(agency=agency, task=task, actor=actor, items=items, params=params or {}, upload=upload)
