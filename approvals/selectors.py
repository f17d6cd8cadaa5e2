"""Reads of the approvals app; each costs a fixed number of queries whatever the row count."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Max, Min, Prefetch, Q, Sum
from django.utils import timezone
from django_scopes import scopes_disabled

from accounts.roles import role_has
from accounts.selectors import memberships_for_user
from rulebook.consequences import ConsequenceFacts, consequence_facts, consequences_for_facts
from rulebook.policy import policy_for
from rulebook.workdays import calendar_pinned
from shutdown.models import Blocker, Strategy, TaskDocument, TaskEvent, TaskItem
from shutdown.states import INACTIVE_ITEM_STATES, TaskState

from .models import (
    Appeal,
    ApprovalCopy,
    ApprovalDecision,
    ApprovalRound,
    ApprovalStage,
    Delegation,
    SignatureRequest,
)
from .services.decisions import vote_for


@dataclass
class ApprovalSummary:
    """What an approver approves, in one line: the task's accounts and money in total."""

    strategy: str
    accounts: int = 0
    followers: int = 0
    earnings: Decimal = Decimal("0")
    ad_revenue: Decimal = Decimal("0")
    blockers: int = 0
    earliest_deadline: datetime | None = None
    earliest_deadline_label: str = ""

    @property
    def strategy_label(self) -> str:
        return str(Strategy(self.strategy).label) if self.strategy in Strategy.values else self.strategy


def approval_summaries(tasks, *, agencies: dict) -> dict[int, ApprovalSummary]:
    """{task id: ApprovalSummary} for many tasks (of one or several agencies) in two queries,
    whatever their number: one aggregate over the items and their accounts, one over the open
    blockers. The earliest deadline is the first consequence (rulebook.consequences) the task
    sets in motion, counted from its earliest expected effective date (now when unknown)."""
    tasks = list(tasks)
    if not tasks:
        return {}
    ids = [t.pk for t in tasks]
    with scopes_disabled():
        rows = (TaskItem.objects.filter(task_id__in=ids).exclude(state__in=INACTIVE_ITEM_STATES)
                .values("task_id").annotate(
                    n=Count("pk"), followers=Sum("sub_account__followers"),
                    earnings=Sum("sub_account__unwithdrawn_earnings"), ad=Sum("sub_account__pending_ad_revenue"),
                    max_ad=Max("sub_account__pending_ad_revenue"), max_earn=Max("sub_account__unwithdrawn_earnings"),
                    topics=Max("sub_account__hosted_topics"),
                    risk=Count("pk", filter=Q(sub_account__high_risk=True)), earliest=Min("expected_effective_at")))
        blockers = dict(Blocker.objects.filter(task_id__in=ids, state__in=Blocker.BLOCKING_STATES)
                        .values("task_id").annotate(n=Count("pk")).values_list("task_id", "n"))
        by_task = {r["task_id"]: r for r in rows}
    now = timezone.now()
    out = {}
    with calendar_pinned():  # one calendar version check for every row
        for task in tasks:
            out[task.pk] = _summary(task, by_task.get(task.pk) or {}, blockers, agencies.get(task.agency_id), now)
    return out


def _summary(task, row: dict, blockers: dict, agency, now) -> ApprovalSummary:
    summary = ApprovalSummary(strategy=task.strategy, accounts=row.get("n") or 0,
                              followers=row.get("followers") or 0, earnings=row.get("earnings") or Decimal("0"),
                              ad_revenue=row.get("ad") or Decimal("0"), blockers=blockers.get(task.pk, 0))
    if row and agency is not None:
        p = policy_for(agency)
        max_ad = row.get("max_ad") or Decimal("0")
        facts = ConsequenceFacts(
            strategy=task.strategy, effective_at=max(row.get("earliest") or now, now),
            unwithdrawn_earnings=(row.get("max_earn") or 0) > 0, pending_ad_revenue=max_ad > 0,
            ad_revenue_paid_out=max_ad >= p.ad_payout_threshold_cny, hosted_topics=(row.get("topics") or 0) > 0,
            high_risk=bool(row.get("risk")))
        first = next(iter(consequences_for_facts(agency=agency, facts=facts)), None)
        if first is not None:
            summary.earliest_deadline, summary.earliest_deadline_label = first.due_at, str(first.label)
    return summary


def task_consequences(*, agency, task) -> list[dict]:
    """The consequence preview of a whole task: each consequence once, with how many accounts it
    concerns and its earliest and latest date (items counted from their expected effective date,
    now when unknown). One query for the items; consequences computed once per distinct facts."""
    now = timezone.now()
    items = (TaskItem.objects.filter(task=task).exclude(state__in=INACTIVE_ITEM_STATES)
             .select_related("sub_account").only("expected_effective_at", "sub_account"))
    per_facts: dict = {}
    for item in items.iterator(chunk_size=2000):
        facts = consequence_facts(agency=agency, sub_account=item.sub_account, strategy=task.strategy,
                                  effective_at=max(item.expected_effective_at or now, now).replace(second=0,
                                                                                                   microsecond=0))
        per_facts[facts] = per_facts.get(facts, 0) + 1
    rows: dict = {}
    with calendar_pinned():
        consequences = [(count, consequences_for_facts(agency=agency, facts=facts))
                        for facts, count in per_facts.items()]
    for count, found in consequences:
        for c in found:
            row = rows.setdefault((c.kind, str(c.label)), {"kind": c.kind, "rule": c.rule, "label": str(c.label),
                                                           "note": str(c.note), "accounts": 0, "first": c.due_at,
                                                           "last": c.due_at, "provisional": False})
            row["accounts"] += count
            row["first"], row["last"] = min(row["first"], c.due_at), max(row["last"], c.due_at)
            row["provisional"] = row["provisional"] or c.provisional
    return sorted(rows.values(), key=lambda r: r["first"])


@dataclass
class InboxEntry:
    agency: object
    stage: ApprovalStage
    task: object
    on_behalf_of: int | None
    escalated: bool
    summary: ApprovalSummary | None = field(default=None)

    @property
    def waiting_since(self):
        return self.stage.opened_at

    @property
    def url(self) -> str:
        from .services.common import approval_url

        return approval_url(agency=self.agency, task=self.task)


def inbox_with_summaries(user) -> list[InboxEntry]:
    """The inbox, each entry with what it approves (ApprovalSummary): a fixed number of queries."""
    entries = inbox_for_user(user)
    summaries = approval_summaries([e.task for e in entries], agencies={e.agency.pk: e.agency for e in entries})
    for entry in entries:
        entry.summary = summaries.get(entry.task.pk)
    return entries


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
        decisions = list(ApprovalDecision.objects.filter(round_id__in=round_ids, superseded_at__isnull=True).values_list(
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
        decisions = [d for s in current.stages.all() for d in s.decisions.all() if d.superseded_at is None]
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
    decisions_all = [d for r in rounds for s in r.stages.all() for d in s.decisions.all()]
    doc_ids = {i for d in decisions_all for i in (d.document_ids or [])}
    documents = {doc.pk: doc for doc in TaskDocument.objects.filter(task=task, pk__in=doc_ids)} if doc_ids else {}
    for d in decisions_all:
        d.documents = [documents[i] for i in (d.document_ids or []) if i in documents]
    current_decisions = [d for d in decisions_all if current is not None and d.round_id == current.pk
                         and d.superseded_at is None]
    voted = {d.vote_of_id for d in current_decisions} | {d.decided_by_id for d in current_decisions}
    in_progress = open_stage is not None
    own_seat = in_progress and user.pk in (set(open_stage.approver_ids) | set(open_stage.escalated_to_ids)) \
        and user.pk not in voted
    has_previous = in_progress and any(s.position < open_stage.position and s.state == ApprovalStage.State.APPROVED
                                       for s in current.stages.all())
    copies = list(ApprovalCopy.objects.filter(round=current).select_related("user", "copied_by")) if current else []
    return {
        "rounds": rounds, "current": current, "open_stage": open_stage,
        "can_submit": task.state == TaskState.READY and access.can("tasks.submit"),
        "can_decide": can_decide,
        "can_add_approver": can_decide, "can_send_back": can_decide and has_previous,
        "can_hand_over": bool(own_seat and access.can("approvals.decide")),
        "can_urge": in_progress and (current.submitted_by_id == user.pk or access.can("tasks.submit")),
        "can_copy": current is not None and (access.can("approvals.decide") or access.can("tasks.submit")),
        "copies": copies, "waiting_ids": [u for u in (open_stage.approver_ids if in_progress else [])
                                          if u not in voted],
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


def approval_page(*, agency, task, user, access) -> dict:
    """The task's approval page: the panel, what is approved (summary), the consequence preview
    and the members one may add, hand over to or copy."""
    from accounts.models import Membership

    panel = task_panel(task=task, user=user, access=access)
    members = list(Membership.objects.filter(agency=agency, user__is_active=True).select_related("user")
                   .order_by("user__email"))
    return {
        "panel": panel,
        "summary": approval_summaries([task], agencies={agency.pk: agency})[task.pk],
        "consequences": task_consequences(agency=agency, task=task),
        "deciders": [m.user for m in members if role_has(m.role, "approvals.decide") and m.user_id != user.pk],
        "members": [m.user for m in members if m.user_id != user.pk],
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
