"""Reads of the approvals app; each costs a fixed number of queries whatever the row count."""

from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q
from django.utils import timezone
from django_scopes import scopes_disabled

from accounts.roles import role_has
from accounts.selectors import memberships_for_user
from shutdown.models import TaskEvent, TaskItem
from shutdown.states import INACTIVE_ITEM_STATES, TaskState

from .models import Appeal, ApprovalDecision, ApprovalRound, ApprovalStage, Delegation, SignatureRequest
from .services.decisions import vote_for


@dataclass
class InboxEntry:
    agency: object
    stage: ApprovalStage
    task: object
    on_behalf_of: int | None
    escalated: bool

    @property
    def waiting_since(self):
        return self.stage.opened_at

    @property
    def url(self) -> str:
        from .services.common import task_url

        return task_url(agency=self.agency, task=self.task)


def inbox_for_user(user, *, memberships=None) -> list[InboxEntry]:
    """Every level waiting for `user` in every agency they belong to, oldest first.
    `memberships`: the user's active memberships when the caller has them already."""
    if not user.is_authenticated:
        return []
    if memberships is None:
        memberships = memberships_for_user(user)
    agencies = {m.agency_id: m.agency for m in memberships if role_has(m.role, "approvals.decide")}
    if not agencies:
        return []
    now = timezone.now()
    with scopes_disabled():
        stages = list(
            ApprovalStage.objects.filter(agency_id__in=list(agencies), state=ApprovalStage.State.OPEN,
                                         task__state=TaskState.IN_APPROVAL)
            .select_related("task", "round").order_by("opened_at", "pk")
        )
        if not stages:  # nothing waits: no decisions or delegations to read
            return []
        round_ids = [s.round_id for s in stages]
        decisions = list(ApprovalDecision.objects.filter(round_id__in=round_ids).values_list(
            "round_id", "decided_by_id", "vote_of_id"))
        delegations = list(Delegation.objects.filter(agency_id__in=list(agencies), delegate=user, starts_at__lte=now,
                                                     ends_at__gt=now, revoked_at__isnull=True)
                           .values_list("agency_id", "delegator_id"))
    decided, used = {}, {}
    for round_id, decided_by, vote_of in decisions:
        decided.setdefault(round_id, set()).add(decided_by)
        used.setdefault(round_id, set()).add(vote_of)
    delegators = {}
    for agency_id, delegator_id in delegations:
        delegators.setdefault(agency_id, set()).add(delegator_id)
    entries = []
    for stage in stages:
        vote = vote_for(stage=stage, user_id=user.pk, decided_ids=decided.get(stage.round_id, set()),
                        used_votes=used.get(stage.round_id, set()), delegators=delegators.get(stage.agency_id, set()))
        if vote is None:
            continue
        entries.append(InboxEntry(agency=agencies[stage.agency_id], stage=stage, task=stage.task,
                                  on_behalf_of=vote if vote != user.pk else None,
                                  escalated=user.pk in stage.escalated_to_ids and user.pk not in stage.approver_ids))
    return entries


def task_rounds(*, task) -> list[ApprovalRound]:
    """The approval history of a task: rounds → stages → decisions (3 queries)."""
    return list(
        ApprovalRound.objects.filter(task=task).select_related("submitted_by").order_by("-number").prefetch_related(
            Prefetch("stages", queryset=ApprovalStage.objects.order_by("position").prefetch_related(
                Prefetch("decisions", queryset=ApprovalDecision.objects.select_related("decided_by", "vote_of")))),
            Prefetch("appeals", queryset=Appeal.objects.select_related("appellant", "decided_by")),
        )
    )


def task_panel(*, task, user, access) -> dict:
    """Everything the approval panel on the task page needs."""
    rounds = task_rounds(task=task)
    current = rounds[0] if rounds else None
    open_stage = None
    if current is not None and current.state == ApprovalRound.State.IN_PROGRESS:
        open_stage = next((s for s in current.stages.all() if s.state == ApprovalStage.State.OPEN), None)
    can_decide = False
    if open_stage is not None and access.can("approvals.decide"):
        decisions = [d for s in current.stages.all() for d in s.decisions.all()]
        open_stage.round = current
        delegators = set(Delegation.objects.filter(delegate=user, starts_at__lte=timezone.now(),
                                                   ends_at__gt=timezone.now(), revoked_at__isnull=True)
                         .values_list("delegator_id", flat=True))
        can_decide = vote_for(stage=open_stage, user_id=user.pk, decided_ids={d.decided_by_id for d in decisions},
                              used_votes={d.vote_of_id for d in decisions}, delegators=delegators) is not None
    last_position = max((s.position for s in current.stages.all()), default=0) if current else 0
    sig_counts = dict(SignatureRequest.objects.filter(task=task).values_list("state").annotate(n=Count("pk")))
    signatures = list(SignatureRequest.objects.filter(task=task).select_related("item__sub_account")
                      .order_by("id")[:20])
    appeal = None
    if current is not None and current.state == ApprovalRound.State.REJECTED:
        appeal = next(iter(current.appeals.all()), None)
    return {
        "rounds": rounds, "current": current, "open_stage": open_stage,
        "can_submit": task.state == TaskState.READY and access.can("tasks.submit"),
        "can_decide": can_decide,
        "can_withdraw": (open_stage is not None and current.submitted_by_id == user.pk
                         and open_stage.position < last_position),
        "can_cancel": access.can("tasks.cancel") and task.state not in (
            TaskState.EXECUTING, TaskState.DONE, TaskState.FAILED, TaskState.CANCELLED),
        "can_appeal": (current is not None and current.state == ApprovalRound.State.REJECTED
                       and task.state == TaskState.DRAFT and appeal is None and access.can("tasks.submit")),
        "appeal": appeal,
        "can_decide_appeal": appeal is not None and appeal.state == Appeal.State.OPEN and access.can("appeals.decide"),
        "signature_counts": sig_counts, "signatures": signatures,
        "signatures_total": sum(sig_counts.values()), "signature_states": SignatureRequest.State.choices,
        "can_manage_signatures": access.can("signatures.manage"),
    }


def signatures_for_task(*, task, state: str = "", query: str = "", ordering: str = "id"):
    qs = SignatureRequest.objects.filter(task=task).select_related("item__sub_account")
    if state:
        qs = qs.filter(state=state)
    if query:
        qs = qs.filter(Q(owner_name__icontains=query) | Q(item__sub_account__display_name__icontains=query))
    return qs.order_by(ordering, "id")


def task_events(*, task, kind: str = ""):
    qs = TaskEvent.objects.filter(task=task).select_related("actor", "item__sub_account").order_by("seq")
    if kind:
        qs = qs.filter(kind__startswith=kind)
    return qs


def delegations_list(*, state: str = "", ordering: str = "-starts_at"):
    now = timezone.now()
    qs = Delegation.objects.select_related("delegator", "delegate")
    if state == "active":
        qs = qs.filter(revoked_at__isnull=True, starts_at__lte=now, ends_at__gt=now)
    elif state == "upcoming":
        qs = qs.filter(revoked_at__isnull=True, starts_at__gt=now)
    elif state == "ended":
        qs = qs.filter(Q(revoked_at__isnull=False) | Q(ends_at__lte=now))
    return qs.order_by(ordering, "-pk")


def items_without_signature(*, task) -> int:
    return (TaskItem.objects.filter(task=task).exclude(state__in=INACTIVE_ITEM_STATES)
            .exclude(signature_requests__state=SignatureRequest.State.SIGNED).count())
