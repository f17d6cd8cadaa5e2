"""Reads of shutdown tasks: every page and endpoint costs the same number of queries for 10
items or 10,000 (annotations, select_related, prefetch of the page only)."""

from django.db.models import Count, Prefetch, Q
from django.utils import timezone

from rulebook.consequences import consequences_preview
from rulebook.policy import policy_for
from shutdown import rules
from shutdown.filters import filter_items, item_filter_params
from shutdown.models import (
    Blocker,
    ItemPreparation,
    PreparationPhase,
    ShutdownTask,
    Strategy,
    TaskDocument,
    TaskItem,
    Tier,
)
from shutdown.states import INACTIVE_ITEM_STATES, ItemState

TASK_SORTS = {"created": "created_at", "-created": "-created_at", "title": "title", "-title": "-title",
              "state": "state", "-state": "-state", "items": "n_items", "-items": "-n_items"}
ITEM_SORTS = {"id": "pk", "name": "sub_account__display_name", "platform": "sub_account__platform",
              "followers": "-sub_account__followers", "state": "state", "tier": "tier__position",
              "expected": "expected_effective_latest_at"}


def task_list(*, params=None):
    params = params or {}
    qs = ShutdownTask.objects.annotate(
        n_items=Count("items", distinct=True),
        n_blocked=Count("items", filter=Q(items__state=ItemState.BLOCKED), distinct=True),
        n_done=Count("items", filter=Q(items__state=ItemState.DONE), distinct=True),
    ).select_related("created_by")
    if params.get("state"):
        qs = qs.filter(state=params["state"])
    if params.get("strategy"):
        qs = qs.filter(strategy=params["strategy"])
    if params.get("q"):
        qs = qs.filter(Q(title__icontains=params["q"]) | Q(reason__icontains=params["q"]))
    return qs.order_by(TASK_SORTS.get(params.get("sort") or "", "-created_at"), "-pk")


def task_counts(*, task: ShutdownTask) -> dict:
    by_state = dict(TaskItem.objects.filter(task=task).values_list("state").annotate(n=Count("id")))
    labels = dict(ItemState.choices)
    return {"total": sum(by_state.values()), "by_state": by_state,
            "by_state_labelled": [(state, labels.get(state, state), n) for state, n in sorted(by_state.items())],
            "open_blockers": Blocker.objects.filter(task=task, state__in=Blocker.BLOCKING_STATES)
            .exclude(item__state__in=INACTIVE_ITEM_STATES).count()}


def task_tiers(*, task: ShutdownTask):
    return Tier.objects.filter(task=task).annotate(
        n_items=Count("items", filter=~Q(items__state__in=INACTIVE_ITEM_STATES)),
        n_done=Count("items", filter=Q(items__state=ItemState.DONE)),
        n_failed=Count("items", filter=Q(items__state=ItemState.FAILED)),
        n_blocked=Count("items", filter=Q(items__state=ItemState.BLOCKED)),
        n_executing=Count("items", filter=Q(items__state=ItemState.EXECUTING)),
    ).order_by("position")


def task_items(*, task: ShutdownTask, params=None):
    params = params or {}
    qs = TaskItem.objects.filter(task=task).select_related("sub_account", "tier").prefetch_related(
        Prefetch("blockers", queryset=Blocker.objects.order_by("check_type", "code")))
    if params.get("tier") and not str(params["tier"]).isdigit():
        return qs.none()
    # The same filters as the bulk actions (shutdown/filters.py): what the page lists is what “all
    # matching” acts on. Unknown names are left out here; the bulk actions refuse them.
    qs = filter_items(qs, item_filter_params(params, strict=False))
    return qs.order_by(ITEM_SORTS.get(params.get("sort") or "", "tier__position"), "pk")


def task_blockers(*, task: ShutdownTask, params=None):
    params = params or {}
    qs = Blocker.objects.filter(task=task).select_related("item__sub_account", "appeal_document")
    if params.get("state"):
        qs = qs.filter(state=params["state"])
    elif not params.get("all"):
        qs = qs.filter(state__in=Blocker.BLOCKING_STATES).exclude(item__state__in=INACTIVE_ITEM_STATES)
    return qs.order_by("item_id", "check_type", "code")


def task_documents(*, task: ShutdownTask):
    return TaskDocument.objects.filter(task=task).select_related("item__sub_account", "uploaded_by")


def item_insight(*, agency, item: TaskItem) -> dict:
    """Everything the operator is told about one item: checklist, recommendation, estimate,
    required documents and the consequences preview with dates."""
    policy = policy_for(agency)
    task = item.task
    account = item.sub_account
    now = timezone.now()
    # R9.2: an item in a shell transition is shut down at its end at the earliest.
    earliest_start = max(now, item.shell_transition_until) if item.shell_transition_until else now
    start = item.expected_effective_latest_at or earliest_start
    estimate = rules.expected_effective(sub_account=account, policy=policy, start=earliest_start, tz=agency.tz,
                                        strategy=task.strategy)
    uploaded = set(TaskDocument.objects.filter(item=item).values_list("kind", flat=True))
    marks = ItemPreparation.objects.filter(item=item).select_related("by", "document")
    by_phase = {m.phase: m for m in marks}
    recommendation = rules.recommend(sub_account=account, policy=policy)
    return {
        # R9.1: the three preparation phases of this item, done / waived / to do.
        "preparation": [{"phase": p.value, "label": p.label, "mark": by_phase.get(p.value)} for p in PreparationPhase]
        if task.strategy == Strategy.SHUTDOWN else [],
        "preparation_settled": sum(1 for p in PreparationPhase if p.value in by_phase),
        # R9.2: the shell transition, proposed for a large audience, chosen or not.
        "shell": {"proposed": recommendation.shell_transition, "months": policy.shell_months,
                  "until": item.shell_transition_until, "started_at": item.shell_transition_started_at},
        "checklist": [s.as_dict() for s in rules.checklist(
            sub_account=account, strategy=task.strategy, policy=policy,
            topic_transfer_target=item.topic_transfer_target, matrix_target_name=str(task.matrix_target or ""))],
        "recommendation": recommendation.as_dict(),
        "estimate": {"earliest": item.expected_effective_at or estimate.earliest,
                     "latest": item.expected_effective_latest_at or estimate.latest,
                     "provisional": item.expected_is_provisional if item.expected_effective_at else estimate.provisional,
                     "rules": estimate.rules, "notes": estimate.notes},
        "required_documents": [{"kind": k, "rule": r, "uploaded": k in uploaded} for k, r in
                               rules.required_documents(account, task.strategy)],
        "consequences": [c.as_dict() for c in consequences_preview(
            agency=agency, sub_account=account, strategy=task.strategy, effective_at=item.effective_at or start)],
    }
