"""Use cases of a task while it is being prepared: create, edit, tiers, items."""

from types import SimpleNamespace

from django.db import transaction
from django.db.models import QuerySet
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from agency.bulksql import insert_values, update_values
from agency.exceptions import Conflict, DomainValidationError
from agency.models import Agency, SubAccount
from agency.selectors import subaccount_filter_queryset
from rulebook.policy import policy_for
from shutdown import rules
from shutdown.events import event_record
from shutdown.models import EventKind, ShutdownTask, Strategy, TaskItem, Tier
from shutdown.services.transitions import item_transition, task_state_roll_up, task_transition
from shutdown.states import EDITABLE_TASK_STATES, INACTIVE_ITEM_STATES, ItemState, TaskState

# Tasks in these states still hold their accounts: an account can be in one of them only.
OPEN_TASK_STATES = [s for s in TaskState.values if s not in (TaskState.DONE, TaskState.FAILED, TaskState.CANCELLED)]
MAX_LISTED_IDS = 20


def _require_editable(task: ShutdownTask) -> None:
    if task.state not in EDITABLE_TASK_STATES:
        raise Conflict(
            _("The task is “%(state)s”: its content can no longer be changed.") % {"state": task.get_state_display()},
            code="not_editable", details={"state": task.state},
        )


def _locked_task(task: ShutdownTask) -> ShutdownTask:
    return ShutdownTask.objects.select_for_update().get(pk=task.pk)


def _short(ids) -> str:
    ids = sorted(ids)
    text = ", ".join(str(i) for i in ids[:MAX_LISTED_IDS])
    return text + (" …" if len(ids) > MAX_LISTED_IDS else "")


def busy_accounts(*, sub_account_ids):
    """The accounts among `sub_account_ids` (ids or a values("pk") queryset) that are held by
    an open task: [(SubAccount, ShutdownTask)], ordered by platform and name."""
    # The held items' ids first (usually none, a narrow read of 10,000s of accounts); the accounts
    # and tasks then for those only.
    held_here = (TaskItem.objects.filter(sub_account_id__in=sub_account_ids) if isinstance(sub_account_ids, QuerySet)
                 else TaskItem.objects.filter(sub_account_id__in_ids=sub_account_ids))
    held = list(held_here.filter(task__state__in=OPEN_TASK_STATES)
                .exclude(state__in=INACTIVE_ITEM_STATES).order_by().values_list("pk", flat=True))
    if not held:
        return []
    rows = (TaskItem.objects.filter(pk__in=held).select_related("sub_account", "task")
            .order_by("sub_account__platform", "sub_account__display_name", "sub_account_id"))
    return [(row.sub_account, row.task) for row in rows]


def account_names(accounts) -> str:
    """“抖音 · 小鱼的日常、快手 · 阿强” — how people recognise accounts (platform · display name)."""
    accounts = list(accounts)
    text = pgettext("list separator", ", ").join(f"{a.get_platform_display()} · {a.display_name}" for a in accounts[:MAX_LISTED_IDS])
    return text + (" …" if len(accounts) > MAX_LISTED_IDS else "")


def selection_rows(*, agency: Agency, sub_account_ids=None, filter_params=None, fields=("pk",)):
    """The sub-accounts a task is created from: explicit ids (each checked) or a saved filter.
    Returns (queryset, rows of `fields` read once, `pk` first)."""
    if sub_account_ids:
        ids = {int(i) for i in sub_account_ids}
        selection = SubAccount.objects.filter(pk__in_ids=ids)
        rows = list(selection.values_list(*fields))
        missing = ids - {row[0] for row in rows}
        if missing:
            raise DomainValidationError(
                _("These sub-accounts do not exist in this agency: %(ids)s.") % {"ids": _short(missing)},
                details={"sub_account_ids": sorted(missing)[:MAX_LISTED_IDS]},
            )
        return selection, rows
    if filter_params is not None:
        selection = subaccount_filter_queryset(agency=agency, params=filter_params)
        return selection, list(selection.values_list(*fields))
    raise DomainValidationError(_("Select at least one sub-account."), details={"sub_account_ids": ["required"]})


def task_create(*, agency: Agency, actor, title: str, strategy: str, reason: str = "", sub_account_ids=None,
                filter_params=None, matrix_target=None, tier_rule: str | None = None,
                batch_size: int | None = None, leave_out_busy: bool = False) -> ShutdownTask:
    """`leave_out_busy=True` creates the task without the accounts another open task holds
    (the page offers it after naming them); otherwise they make the creation fail.

    With a `tier_rule`, the tiers are made as `tiers_split` makes them (same tiers, same event),
    but from the accounts read here: the items are written once, each with its tier."""
    title = (title or "").strip()
    if not title:
        raise DomainValidationError(_("Give the task a title."), details={"title": ["required"]})
    if strategy not in Strategy.values:
        raise DomainValidationError(_("Unknown strategy “%(s)s”.") % {"s": strategy}, details={"strategy": [strategy]})
    with transaction.atomic():
        selection, rows = selection_rows(agency=agency, sub_account_ids=sub_account_ids, filter_params=filter_params,
                                         fields=("pk", "archived_at", *SPLIT_FIELDS))
        if not rows:
            raise DomainValidationError(_("The selection is empty: no sub-account matches."),
                                        details={"sub_account_ids": ["empty"]})
        archived = [row[0] for row in rows if row[1]]
        if archived:
            raise DomainValidationError(
                _("Archived sub-accounts cannot be shut down: %(ids)s.") % {"ids": _short(archived)},
                details={"sub_account_ids": archived[:MAX_LISTED_IDS]})
        # Explicit ids: the list itself, as one parameter (a subquery over the selection can make
        # PostgreSQL loop over the task items once per account when its statistics lag behind).
        busy = busy_accounts(sub_account_ids=[row[0] for row in rows] if sub_account_ids
                             else selection.values("pk"))
        if busy and not leave_out_busy:
            raise DomainValidationError(
                _("These sub-accounts are already in a running task: %(names)s.")
                % {"names": account_names(a for a, _t in busy)},
                code="busy", details={"sub_account_ids": [a.pk for a, _t in busy][:MAX_LISTED_IDS]})
        if busy:
            busy_ids = {a.pk for a, _t in busy}
            rows = [row for row in rows if row[0] not in busy_ids]
            if not rows:
                raise DomainValidationError(_("Every selected sub-account is already in a running task."),
                                            details={"sub_account_ids": ["empty"]})
        ids = [row[0] for row in rows]
        _check_matrix_target(strategy=strategy, matrix_target=matrix_target, ids=set(ids))
        # The items are inserted in this order, so it is also their id order (what tiers_split reads).
        plan = (_rule_plan(agency=agency, rule=tier_rule, batch_size=batch_size,
                           rows=[(row[0], *row[2:]) for row in rows]) if tier_rule else None)
        task = ShutdownTask.objects.create(
            agency=agency, title=title, reason=reason or "", strategy=strategy, created_by=actor,
            matrix_target=matrix_target if strategy == Strategy.MATRIX else None,
        )
        tiers = _tiers_create(agency=agency, task=task, plan=plan) if plan is not None else []
        tier_of = {pk: tier.pk for tier, spec in zip(tiers, plan or [], strict=True) for pk in spec["item_ids"]}
        # Rows, not instances (COPY on PostgreSQL): bulk_create compiles every value through the ORM.
        insert_values(TaskItem, ["agency_id", "task_id", "sub_account_id", "tier_id"],
                      [(agency.pk, task.pk, pk, tier_of.get(pk)) for pk in ids], prepared=True)
        event_record(agency=agency, task=task, kind=EventKind.TASK_CREATED, actor=actor,
                     data={"title": title, "strategy": strategy, "items": len(ids)})
        if plan is not None:
            _tiers_split_record(agency=agency, task=task, actor=actor, rule=tier_rule, tiers=tiers, plan=plan)
    return task


def _check_matrix_target(*, strategy, matrix_target, ids: set[int]) -> None:
    if strategy != Strategy.MATRIX:
        return
    if matrix_target is None:
        raise DomainValidationError(_("Matrix reorganisation needs the target account the content moves to (R5.3)."),
                                    details={"matrix_target": ["required"]})
    if matrix_target.pk in ids:
        raise DomainValidationError(_("The matrix target cannot be one of the accounts being reorganised."),
                                    details={"matrix_target": [matrix_target.pk]})


def task_update(*, agency: Agency, task: ShutdownTask, actor, **changes) -> ShutdownTask:
    """Edit title, reason, strategy or matrix target while the task is editable. A new strategy
    sends the task back to draft: its pre-checks must run again."""
    allowed = {"title", "reason", "strategy", "matrix_target"}
    with transaction.atomic():
        task = _locked_task(task)
        _require_editable(task)
        before = {}
        for name, value in changes.items():
            if name not in allowed:
                raise DomainValidationError(_("“%(f)s” cannot be edited.") % {"f": name}, details={name: ["read-only"]})
            if name == "title" and not (value or "").strip():
                raise DomainValidationError(_("Give the task a title."), details={"title": ["required"]})
            if name == "strategy" and value not in Strategy.values:
                raise DomainValidationError(_("Unknown strategy “%(s)s”.") % {"s": value}, details={"strategy": [value]})
            if getattr(task, name) != value:
                before[name] = getattr(task, name)
                setattr(task, name, value)
        if not before:
            return task
        if task.strategy != Strategy.MATRIX:
            task.matrix_target = None
        ids = set(task.items.values_list("sub_account_id", flat=True))
        _check_matrix_target(strategy=task.strategy, matrix_target=task.matrix_target, ids=ids)
        task.save()
        changed = sorted(before)
        event_record(agency=agency, task=task, kind=EventKind.TASK_EDITED, actor=actor,
                     data={"fields": changed, "before": {k: getattr(v, "pk", v) for k, v in before.items()}})
        if {"strategy", "matrix_target"} & set(changed) and task.state != TaskState.DRAFT:
            task.items.exclude(state__in=INACTIVE_ITEM_STATES).update(state=ItemState.DRAFT)
            task = task_transition(agency=agency, task=task, to=TaskState.DRAFT, actor=actor, kind=EventKind.TASK_RESET,
                                   data={"reason": "strategy changed"})
    return task


# The sub-account fields a rule split reads (rules.split_into_tiers).
SPLIT_FIELDS = ("platform", "followers", "high_risk")


def _check_rule(*, rule: str, batch_size: int | None) -> None:
    if rule not in rules.SPLIT_RULES:
        raise DomainValidationError(_("Unknown tier rule “%(r)s”.") % {"r": rule}, details={"rule": [rule]})
    if rule == "batch_size" and not (batch_size and int(batch_size) > 0):
        raise DomainValidationError(_("Give a batch size of at least 1."), details={"batch_size": ["required"]})


def _rule_plan(*, agency: Agency, rule: str, batch_size: int | None, rows: list[tuple]) -> list[dict]:
    """The tiers of a rule split. rows: (key, platform, followers, high_risk) in item order; the
    plan's `item_ids` are these keys."""
    _check_rule(rule=rule, batch_size=batch_size)
    if rule == "followers":
        rows = sorted(rows, key=lambda row: row[2])  # stable: item order among equal audiences
    # Plain tuples, not model instances: the split reads three fields of 10,000s of accounts.
    accounts = [(key, SimpleNamespace(platform=platform, followers=followers, high_risk=high_risk))
                for key, platform, followers, high_risk in rows]
    with translation.override(rules.TIER_NAME_LANGUAGE):  # named in the viewer's language when shown
        return [{"name": name, "planned_start": None, "item_ids": ids}
                for name, ids in rules.split_into_tiers(rows=accounts, rule=rule, batch_size=batch_size,
                                                        policy=policy_for(agency))]


def _tiers_create(*, agency: Agency, task: ShutdownTask, plan: list[dict]) -> list[Tier]:
    return [Tier.objects.create(agency=agency, task=task, position=position, name=spec["name"][:100],
                                planned_start=spec.get("planned_start"))
            for position, spec in enumerate(plan, start=1)]


def _tiers_split_record(*, agency: Agency, task: ShutdownTask, actor, rule: str | None, tiers: list[Tier],
                        plan: list[dict]) -> None:
    event_record(agency=agency, task=task, kind=EventKind.TIERS_SPLIT, actor=actor,
                 data={"rule": rule or "manual", "tiers": [[t.name, len(s["item_ids"])] for t, s in
                                                           zip(tiers, plan, strict=True)]})


def tiers_split(*, agency: Agency, task: ShutdownTask, actor, rule: str | None = None, batch_size: int | None = None,
                tiers: list[dict] | None = None) -> list[Tier]:
    """Replace the task's tiers: by a rule (platform order, risk, followers, batch size) or by hand
    (`tiers=[{"name", "planned_start", "item_ids"}]`, every active item exactly once)."""
    with transaction.atomic():
        task = _locked_task(task)
        _require_editable(task)
        active = TaskItem.objects.filter(task=task).exclude(state__in=INACTIVE_ITEM_STATES)
        if tiers is not None:
            plan = _manual_plan(active=active, tiers=tiers)
        else:
            _check_rule(rule=rule, batch_size=batch_size)  # before reading the items
            plan = _rule_plan(agency=agency, rule=rule, batch_size=batch_size, rows=list(
                active.order_by("id").values_list("pk", *(f"sub_account__{name}" for name in SPLIT_FIELDS))))
        TaskItem.objects.filter(task=task, tier__isnull=False).update(tier=None)
        Tier.objects.filter(task=task).delete()
        created = _tiers_create(agency=agency, task=task, plan=plan)
        # One statement for every item (UPDATE … FROM unnest/VALUES on PostgreSQL, executemany on SQLite).
        update_values(model=TaskItem, names=["tier"], agency_id=agency.pk, where="task_id = %s",
                      where_params=(task.pk,), prepared=True,
                      rows=[(pk, tier.pk) for tier, spec in zip(created, plan, strict=True) for pk in spec["item_ids"]])
        _tiers_split_record(agency=agency, task=task, actor=actor, rule=rule, tiers=created, plan=plan)
    return created


def _manual_plan(*, active, tiers: list[dict]) -> list[dict]:
    if not tiers:
        raise DomainValidationError(_("Give at least one tier."), details={"tiers": ["required"]})
    active_ids = set(active.values_list("pk", flat=True))
    seen: set[int] = set()
    plan = []
    for index, spec in enumerate(tiers, start=1):
        name = (spec.get("name") or "").strip()
        if not name:
            raise DomainValidationError(_("Tier %(n)s needs a name.") % {"n": index}, details={"tiers": [index]})
        ids = [int(i) for i in spec.get("item_ids") or []]
        unknown = set(ids) - active_ids
        if unknown:
            raise DomainValidationError(
                _("Tier %(n)s lists items that are not active items of this task: %(ids)s.")
                % {"n": index, "ids": _short(unknown)}, details={"tiers": [index]})
        twice = seen & set(ids)
        if twice:
            raise DomainValidationError(_("Items in more than one tier: %(ids)s.") % {"ids": _short(twice)},
                                        details={"tiers": [index]})
        seen |= set(ids)
        plan.append({"name": name, "planned_start": spec.get("planned_start"), "item_ids": ids})
    missing = active_ids - seen
    if missing:
        raise DomainValidationError(_("Every active item needs a tier; missing: %(ids)s.") % {"ids": _short(missing)},
                                    details={"tiers": ["incomplete"]})
    return plan


def tier_update(*, agency: Agency, tier: Tier, actor, name: str | None = None, planned_start=None) -> Tier:
    with transaction.atomic():
        task = _locked_task(tier.task)
        _require_editable(task)
        tier = Tier.objects.select_for_update().get(pk=tier.pk)
        if name is not None:
            if not name.strip():
                raise DomainValidationError(_("A tier needs a name."), details={"name": ["required"]})
            tier.name = name.strip()[:100]
        if planned_start is not None:
            tier.planned_start = planned_start
        tier.save()
        event_record(agency=agency, task=task, kind=EventKind.TIER_EDITED, actor=actor,
                     data={"tier": tier.pk, "name": tier.name, "planned_start": tier.planned_start})
    return tier


def item_update(*, agency: Agency, item: TaskItem, actor, topic_transfer_target: str | None = None,
                note: str | None = None) -> TaskItem:
    with transaction.atomic():
        _require_editable(_locked_task(item.task))
        item = TaskItem.objects.select_for_update().get(pk=item.pk)
        data = {}
        if topic_transfer_target is not None:
            item.topic_transfer_target = topic_transfer_target.strip()[:200]
            data["topic_transfer_target"] = item.topic_transfer_target
        if note is not None:
            item.note = note
        item.save()
        event_record(agency=agency, task=item.task, item=item, kind=EventKind.ITEM_EDITED, actor=actor, data=data)
    return item


def item_exclude(*, agency: Agency, item: TaskItem, actor, reason: str = "") -> TaskItem:
    with transaction.atomic():
        task = _locked_task(item.task)
        _require_editable(task)
        item = item_transition(agency=agency, item=item, to=ItemState.EXCLUDED, actor=actor,
                               kind=EventKind.ITEM_EXCLUDED, data={"reason": reason})
        task_state_roll_up(agency=agency, task=task, actor=actor)
    return item


def item_restore(*, agency: Agency, item: TaskItem, actor) -> TaskItem:
    """Bring an excluded item back (as draft: it must be checked again)."""
    with transaction.atomic():
        task = _locked_task(item.task)
        _require_editable(task)
        item = item_transition(agency=agency, item=item, to=ItemState.DRAFT, actor=actor, kind=EventKind.ITEM_RESTORED)
        task_state_roll_up(agency=agency, task=task, actor=actor)
    return item


def item_move(*, agency: Agency, item: TaskItem, tier: Tier, actor) -> TaskItem:
    with transaction.atomic():
        task = _locked_task(item.task)
        _require_editable(task)
        if tier.task_id != task.pk:
            raise DomainValidationError(_("That tier belongs to another task."), details={"tier": [tier.pk]})
        item = TaskItem.objects.select_for_update().get(pk=item.pk)
        before = item.tier_id
        item.tier = tier
        item.save(update_fields=["tier", "updated_at"])
        event_record(agency=agency, task=task, item=item, kind=EventKind.ITEM_MOVED, actor=actor,
                     data={"from_tier": before, "to_tier": tier.pk})
    return item
