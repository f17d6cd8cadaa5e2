"""Preparation and transition before a shutdown: the source document's advice as the defaults.

- R9.1 three preparation phases per item (export the last six months of interaction data, back
  up the drafts locally, remove every third-party authorisation): each ticked (who, when,
  optional evidence file) or waived with a reason (`preparation_mark`, in bulk). An item's tier
  cannot open while one of its approved items has a phase left (`preparation_gate`).
- R9.2 shell transition: an account with a large audience stays an empty shell for the policy's
  months while its followers move elsewhere; its shutdown is scheduled at the end
  (`shell_transition_start`), its tier waits until then (`shell_transition_gate`), the deadlines
  app stores the follower-migration check-ins with reminders (signal `shell_transition_changed`),
  and the countdowns of the shutdown (drafts 30 days …) start only when it takes effect.
- R1.3 third-party authorised accounts: the unbinding on the original platform is confirmed by
  an operator with evidence (`unbinding_confirm`), which clears the pre-check blocker.
- R9.4 the recommendation is overridable with a recorded reason (`recommendation_override`).
"""

from datetime import datetime

from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from agency.exceptions import Conflict, DomainValidationError
from agency.models import AccountKind, Agency
from rulebook.consequences import _add_months
from rulebook.policy import policy_for
from shutdown import rules
from shutdown.events import event_record
from shutdown.models import (
    Blocker,
    DocumentKind,
    EventKind,
    ItemPreparation,
    PreparationPhase,
    ShutdownTask,
    Strategy,
    TaskItem,
    Tier,
)
from shutdown.services.documents import document_upload
from shutdown.services.precheck import CHECKABLE_ITEM_STATES, precheck_start
from shutdown.signals import shell_transition_changed
from shutdown.states import EDITABLE_TASK_STATES, ItemState, TaskState

PHASES = list(PreparationPhase)
# Items whose preparation can still be recorded (not yet executed, not left out).
PREPARABLE_ITEM_STATES = (
    ItemState.DRAFT,
    ItemState.CHECKING,
    ItemState.READY,
    ItemState.BLOCKED,
    ItemState.IN_APPROVAL,
    ItemState.APPROVED,
)
CLOSED_TASK_STATES = (TaskState.DONE, TaskState.FAILED, TaskState.CANCELLED)
UNBINDING_CODE = f"documents.{DocumentKind.UNBINDING_EVIDENCE}"
# How many accounts a gate message names before “and N more”.
NAMED_IN_MESSAGE = 5


def _names(pairs: list[tuple[str, str]]) -> str:
    """“A (x, y); B (z) and 3 more”."""
    shown = "; ".join(f"{name} ({detail})" if detail else name for name, detail in pairs[:NAMED_IN_MESSAGE])
    if len(pairs) > NAMED_IN_MESSAGE:
        shown += _(" and %(n)s more") % {"n": len(pairs) - NAMED_IN_MESSAGE}
    return shown


def _open_task(task: ShutdownTask) -> ShutdownTask:
    task = ShutdownTask.objects.select_for_update().get(pk=task.pk)
    if task.state in CLOSED_TASK_STATES:
        raise Conflict(
            _("The task is “%(state)s”: its preparation can no longer change.")
            % {"state": task.get_state_display()},
            code="task_closed",
        )
    if task.strategy != Strategy.SHUTDOWN:
        raise Conflict(
            _("Preparation phases and the shell transition concern full shutdowns; this task is “%(s)s”.")
            % {"s": task.get_strategy_display()},
            code="not_a_shutdown",
        )
    return task


# --- R9.1 preparation phases -------------------------------------------------------------------


def preparation_mark(
    *,
    agency: Agency,
    task: ShutdownTask,
    actor,
    phase: str,
    item_ids: list[int] | None = None,
    all_items: bool = False,
    waive: bool = False,
    note: str = "",
    upload=None,
) -> int:
    """Tick (or waive, with a reason) one R9.1 phase for the selected items — or for every item of
    the task still being prepared (`all_items`) — with one note and an optional evidence file.
    Returns how many items were marked. Bad input changes nothing."""
    note = (note or "").strip()
    if phase not in PreparationPhase.values:
        raise DomainValidationError(
            _("Choose the preparation phase to tick."), details={"phase": [phase or ""]}
        )
    if waive and not note:
        raise DomainValidationError(_("Say why the phase is waived."), details={"note": ["required"]})
    if not all_items and not item_ids:
        raise DomainValidationError(_("Select at least one account."), details={"items": ["required"]})
    with transaction.atomic():
        task = _open_task(task)
        items = TaskItem.objects.filter(task=task)
        if not all_items:
            ids = sorted(set(item_ids))
            found = dict(items.filter(pk__in=ids).values_list("pk", "state"))
            unknown = [i for i in ids if i not in found]
            if unknown:
                raise DomainValidationError(
                    _("%(n)s selected item(s) are not in this task.") % {"n": len(unknown)},
                    details={"items": unknown},
                )
            finished = [i for i in ids if found[i] not in PREPARABLE_ITEM_STATES]
            if finished:
                names = list(
                    items.filter(pk__in=finished).values_list("sub_account__display_name", flat=True)
                )
                raise Conflict(
                    _("These accounts are executed or left out, their preparation is closed: %(names)s.")
                    % {"names": _names([(n, "") for n in names])},
                    code="item_closed",
                )
            items = items.filter(pk__in=ids)
        items = items.filter(state__in=PREPARABLE_ITEM_STATES)
        count = items.count()
        if not count:
            raise DomainValidationError(
                _("There is no account left to prepare in this task."), details={"items": ["none"]}
            )
        document = None
        if upload is not None:
            single = items.first() if count == 1 else None
            document = document_upload(
                agency=agency,
                task=task,
                item=single,
                actor=actor,
                upload=upload,
                kind=DocumentKind.PREPARATION_EVIDENCE,
                record=False,
                confirmation=True,
            )
        now = timezone.now()
        state = ItemPreparation.State.WAIVED if waive else ItemPreparation.State.DONE
        values = {"state": state, "note": note, "document": document, "by": actor, "at": now}
        ItemPreparation.objects.filter(task=task, phase=phase, item__in=items).update(**values)
        missing = items.exclude(preparations__phase=phase).values_list("pk", flat=True)
        ItemPreparation.objects.bulk_create(
            [ItemPreparation(agency=agency, task=task, item_id=pk, phase=phase, **values) for pk in missing],
            batch_size=1000,
        )
        accounts = list(items.order_by("pk").values_list("sub_account__display_name", flat=True)[:20])
        event_record(
            agency=agency,
            task=task,
            item=items.first() if count == 1 else None,
            actor=actor,
            kind=EventKind.PREPARATION_WAIVED if waive else EventKind.PREPARATION_TICKED,
            data={
                "phase": phase,
                "items": count,
                "accounts": accounts,
                "note": note,
                "document_sha256": document.sha256 if document else None,
            },
        )
    return count


def preparation_of(*, item_ids) -> dict[int, dict[str, ItemPreparation]]:
    """item → phase → its row (a phase without a row is still to do). One query."""
    out: dict[int, dict[str, ItemPreparation]] = {}
    for row in ItemPreparation.objects.filter(item_id__in=list(item_ids)).select_related("by", "document"):
        out.setdefault(row.item_id, {})[row.phase] = row
    return out


def preparation_states(*, task: ShutdownTask) -> dict[int, dict[str, str]]:
    """item → phase → "done" / "waived" for a whole task (one query; the signing page's content)."""
    out: dict[int, dict[str, str]] = {}
    for item_id, phase, state in ItemPreparation.objects.filter(task=task).values_list(
        "item_id", "phase", "state"
    ):
        out.setdefault(item_id, {})[phase] = state
    return out


def preparation_summary(*, task: ShutdownTask) -> list[dict]:
    """Per phase: how many of the task's items being prepared have it done, waived, still to do."""
    total = TaskItem.objects.filter(task=task, state__in=PREPARABLE_ITEM_STATES).count()
    counts = {
        (p, s): n
        for p, s, n in ItemPreparation.objects.filter(task=task, item__state__in=PREPARABLE_ITEM_STATES)
        .values_list("phase", "state")
        .annotate(n=Count("pk"))
    }
    out = []
    for phase in PHASES:
        done = counts.get((phase.value, ItemPreparation.State.DONE.value), 0)
        waived = counts.get((phase.value, ItemPreparation.State.WAIVED.value), 0)
        out.append(
            {
                "phase": phase.value,
                "label": phase.label,
                "done": done,
                "waived": waived,
                "todo": max(total - done - waived, 0),
                "total": total,
            }
        )
    return out


def preparation_gate(*, agency: Agency, tier: Tier) -> str | None:
    """R9.1 tier gate: every approved item of a full-shutdown tier has its three phases done or
    waived. The refusal names the accounts and their missing phases. Two queries."""
    if tier.task.strategy != Strategy.SHUTDOWN:
        return None
    return preparation_waiting(items=TaskItem.objects.filter(tier=tier), tier_name=tier.display_name)


def preparation_waiting(*, items, tier_name: str) -> str | None:
    """What the approved items among `items` still wait for (R9.1), in words; None when nothing."""
    approved = items.filter(state=ItemState.APPROVED)
    rows = list(approved.order_by("pk").values_list("pk", "sub_account__display_name"))
    if not rows:
        return None
    settled = set(ItemPreparation.objects.filter(item__in=approved).values_list("item_id", "phase"))
    missing = []
    for pk, name in rows:
        left = [str(p.label) for p in PHASES if (pk, p.value) not in settled]
        if left:
            missing.append((name, ", ".join(left)))
    if not missing:
        return None
    return _(
        "Preparation (R9.1) is not finished for %(n)s account(s) of tier “%(tier)s”: %(list)s. Tick or waive "
        "these phases in the task's preparation checklist first."
    ) % {"n": len(missing), "tier": tier_name, "list": _names(missing)}


def shell_waiting(*, agency: Agency, items, tier_name: str) -> str | None:
    """R9.2: the approved items among `items` still in their shell transition, in words."""
    now = timezone.now()
    waiting = list(
        items.filter(state=ItemState.APPROVED, shell_transition_until__gt=now)
        .order_by("shell_transition_until", "pk")
        .values_list("sub_account__display_name", "shell_transition_until")
    )
    if not waiting:
        return None
    tz = agency.tz
    latest = max(until for _name, until in waiting)
    return _(
        "Shell transition (R9.2) in tier “%(tier)s”: %(list)s. The tier waits until %(date)s, or move these "
        "accounts to a later tier."
    ) % {
        "tier": tier_name,
        "list": _names(
            [
                (name, _("empty shell until %(d)s") % {"d": until.astimezone(tz).strftime("%Y-%m-%d")})
                for name, until in waiting
            ]
        ),
        "date": latest.astimezone(tz).strftime("%Y-%m-%d"),
    }


def next_tier_waiting(*, agency: Agency, task: ShutdownTask) -> list[str]:
    """What the next tier to open waits for (the same words as its gates); the items without a
    tier when the task has none yet (execution then makes them one tier)."""
    if task.strategy != Strategy.SHUTDOWN or task.state not in (TaskState.APPROVED, TaskState.EXECUTING):
        return []
    tier = (
        Tier.objects.filter(task=task, state=Tier.State.PENDING)
        .select_related("task")
        .order_by("position")
        .first()
    )
    if tier is not None:
        items, name = TaskItem.objects.filter(tier=tier), tier.display_name
    elif task.state == TaskState.APPROVED:
        items, name = TaskItem.objects.filter(task=task, tier__isnull=True), _("All accounts")
    else:
        return []
    return [
        r
        for r in (
            preparation_waiting(items=items, tier_name=name),
            shell_waiting(agency=agency, items=items, tier_name=name),
        )
        if r
    ]


# --- R9.2 shell transition ---------------------------------------------------------------------


def shell_transition_gate(*, agency: Agency, tier: Tier) -> str | None:
    """R9.2 tier gate: an item in a shell transition is shut down only at its end; its tier waits."""
    return shell_waiting(agency=agency, items=TaskItem.objects.filter(tier=tier), tier_name=tier.display_name)


def _lock_item(item: TaskItem) -> TaskItem:
    locked = (
        TaskItem.objects.select_for_update(of=("self",))
        .select_related("task", "sub_account", "tier")
        .get(pk=item.pk)
    )
    if locked.state not in PREPARABLE_ITEM_STATES:
        raise Conflict(
            _("The item is “%(s)s”: it can no longer change.") % {"s": locked.get_state_display()},
            code="item_closed",
        )
    return locked


def shell_transition_start(
    *, agency: Agency, item: TaskItem, actor, note: str = "", now: datetime | None = None
) -> TaskItem:
    """Choose the R9.2 shell transition for an item: it stays an empty shell for the policy's
    months from now and is shut down at their end (its tier waits). The deadlines app stores the
    end and the follower-migration check-ins, with reminders. The expected effective dates move
    to the end of the transition; the shutdown's own countdowns start when it takes effect."""
    now = now or timezone.now()
    with transaction.atomic():
        _open_task(item.task)
        item = _lock_item(item)
        if item.shell_transition_until is not None:
            raise Conflict(
                _("This account is already in a shell transition until %(d)s.")
                % {"d": item.shell_transition_until.astimezone(agency.tz).strftime("%Y-%m-%d")},
                code="already_in_transition",
            )
        policy = policy_for(agency)
        until = _add_months(now.astimezone(agency.tz), policy.shell_months)
        item.shell_transition_started_at, item.shell_transition_until = now, until
        fields = ["shell_transition_started_at", "shell_transition_until", "updated_at"]
        if item.expected_effective_at is None or item.expected_effective_at < until:
            e = rules.expected_effective(
                sub_account=item.sub_account,
                policy=policy,
                start=until,
                tz=agency.tz,
                strategy=item.task.strategy,
            )
            item.expected_effective_at, item.expected_effective_latest_at = e.earliest, e.latest
            item.expected_is_provisional, item.expected_from = e.provisional, e.start
            fields += [
                "expected_effective_at",
                "expected_effective_latest_at",
                "expected_is_provisional",
                "expected_from",
            ]
        item.save(update_fields=fields)
        event_record(
            agency=agency,
            task=item.task,
            item=item,
            actor=actor,
            kind=EventKind.SHELL_TRANSITION_STARTED,
            data={
                "until": until.isoformat(),
                "months": policy.shell_months,
                "followers": item.sub_account.followers,
                "note": (note or "").strip(),
            },
        )
        shell_transition_changed.send(sender=TaskItem, agency=agency, item=item, started_at=now, until=until)
    return item


def shell_transition_cancel(*, agency: Agency, item: TaskItem, actor, reason: str) -> TaskItem:
    """Give up an item's shell transition (with a reason): the shutdown is no longer held back;
    the pending check-ins and their reminders are withdrawn by the deadlines app."""
    if not (reason or "").strip():
        raise DomainValidationError(
            _("Say why the shell transition is cancelled."), details={"reason": ["required"]}
        )
    with transaction.atomic():
        _open_task(item.task)
        item = _lock_item(item)
        if item.shell_transition_until is None:
            raise Conflict(_("This account is not in a shell transition."), code="not_in_transition")
        until = item.shell_transition_until
        item.shell_transition_started_at = item.shell_transition_until = None
        item.save(update_fields=["shell_transition_started_at", "shell_transition_until", "updated_at"])
        event_record(
            agency=agency,
            task=item.task,
            item=item,
            actor=actor,
            kind=EventKind.SHELL_TRANSITION_CANCELLED,
            data={"until": until.isoformat(), "reason": reason.strip()},
        )
        shell_transition_changed.send(sender=TaskItem, agency=agency, item=item, started_at=None, until=None)
    return item


# --- R1.3 third-party unbinding -----------------------------------------------------------------


def unbinding_confirm(
    *, agency: Agency, item: TaskItem, actor, note: str, upload, publish: bool = True
) -> TaskItem:
    """R1.3: an operator confirms that a third-party authorised account was unbound on the original
    platform (安全中心-应用授权管理), with evidence. The pre-check blocker is resolved and the
    item is checked again (`publish=False`: the caller runs the check, as the demo seed does)."""
    note = (note or "").strip()
    if not note:
        raise DomainValidationError(
            _("Say how the unbinding was done (date, platform, who)."), details={"note": ["required"]}
        )
    if upload is None:
        raise DomainValidationError(
            _("Attach the evidence of the unbinding (a screenshot or a PDF)."), details={"file": ["required"]}
        )
    with transaction.atomic():
        task = ShutdownTask.objects.select_for_update().get(pk=item.task_id)
        if task.state not in EDITABLE_TASK_STATES:
            raise Conflict(
                _("The task is “%(state)s”: the unbinding is confirmed before approval.")
                % {"state": task.get_state_display()},
                code="not_editable",
            )
        item = _lock_item(item)
        if item.sub_account.kind != AccountKind.THIRD_PARTY:
            raise Conflict(
                _("Only a third-party authorised account is unbound on its original platform."),
                code="not_third_party",
            )
        document = document_upload(
            agency=agency,
            task=task,
            item=item,
            actor=actor,
            upload=upload,
            kind=DocumentKind.UNBINDING_EVIDENCE,
            record=False,
            confirmation=True,
        )
        now = timezone.now()
        resolved = Blocker.objects.filter(
            item=item, code=UNBINDING_CODE, state__in=Blocker.BLOCKING_STATES
        ).update(state=Blocker.State.RESOLVED, resolution_note=note, resolved_by=actor, resolved_at=now)
        event_record(
            agency=agency,
            task=task,
            item=item,
            actor=actor,
            kind=EventKind.UNBINDING_CONFIRMED,
            data={"note": note, "document_sha256": document.sha256, "resolved": resolved},
        )
        if item.state in CHECKABLE_ITEM_STATES:
            precheck_start(agency=agency, task=task, actor=actor, item_ids=[item.pk], publish=publish)
    return item


# --- R9.4 overriding the recommendation ------------------------------------------------------------


def recommendation_override(*, agency: Agency, item: TaskItem, actor, reason: str) -> TaskItem:
    """R9.4: record why this item does not follow the recommendation (the task's strategy differs)."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainValidationError(
            _("Say why the recommendation is not followed."), details={"reason": ["required"]}
        )
    with transaction.atomic():
        item = (
            TaskItem.objects.select_for_update(of=("self",))
            .select_related("task", "sub_account")
            .get(pk=item.pk)
        )
        recommended = rules.recommend(sub_account=item.sub_account, policy=policy_for(agency))
        if recommended.strategy == item.task.strategy:
            raise Conflict(
                _("The task follows the recommendation for this account (%(s)s): nothing to override.")
                % {"s": recommended.label},
                code="follows_recommendation",
            )
        item.recommendation_override_reason = reason
        item.save(update_fields=["recommendation_override_reason", "updated_at"])
        event_record(
            agency=agency,
            task=item.task,
            item=item,
            actor=actor,
            kind=EventKind.RECOMMENDATION_OVERRIDDEN,
            data={"recommended": recommended.strategy, "chosen": item.task.strategy, "reason": reason},
        )
    return item


__all__ = [
    "preparation_mark",
    "preparation_of",
    "preparation_summary",
    "preparation_gate",
    "shell_transition_gate",
    "next_tier_waiting",
    "preparation_states",
    "shell_transition_start",
    "shell_transition_cancel",
    "unbinding_confirm",
    "recommendation_override",
    "PREPARABLE_ITEM_STATES",
]
