"""The filters of a task's items, shared by the task page, its bulk actions and the API.

A bulk action on “every account matching this filter” acts on the filter, not on the ids of
one page: the same parameters select the same items. Empty means any (a drop-down left at
“全部” sends `state=`); a filter name that is not one of ITEM_FILTERS is refused, never read
as “every item” (a misspelled `platfrom=douyin` would otherwise select the whole task).
"""

from django.utils.translation import gettext as _

from agency.exceptions import DomainValidationError
from agency.filtering import non_empty
from agency.models import Platform
from shutdown import rules
from shutdown.models import Blocker, TaskItem
from shutdown.states import ItemState

ITEM_FILTERS = ("state", "platform", "tier", "blocker", "rule", "q")
# Parameters that travel with the filter on the page but do not filter.
NOT_FILTERS = frozenset({"page", "sort"})
BLOCKER_RULES = sorted({rule for _check, rule, _reason, _channel in rules.BLOCKERS.values()})


def blocker_choices() -> list[tuple[str, str]]:
    """(code, “R4 · reason”) for the blocker filter and the bulk resolve action."""
    return [
        (code, f"{rule} · {rules.blocker_reason(code)}")
        for code, (_c, rule, _r, _ch) in rules.BLOCKERS.items()
    ]


def item_filter_params(params, *, strict: bool = True) -> dict:
    """The filters in `params` (a QueryDict or a dict) as {name: value}, blanks dropped.

    strict: an unknown name or an invalid value is a DomainValidationError naming it (bulk
    actions, the API); otherwise they are left out (the page still shows)."""
    params = non_empty(params) or {}
    getter = params.get
    unknown = sorted(k for k in params if k not in ITEM_FILTERS and k not in NOT_FILTERS)
    if unknown and strict:
        raise DomainValidationError(
            _("Unknown filter “%(name)s”; the filters are: %(known)s.")
            % {"name": unknown[0], "known": ", ".join(ITEM_FILTERS)},
            code="unknown_filter",
            details={name: [_("Unknown filter.")] for name in unknown},
        )
    valid = {
        "state": lambda v: v in ItemState.values,
        "platform": lambda v: v in Platform.values,
        "tier": lambda v: str(v).isdigit(),
        "blocker": lambda v: v in rules.BLOCKERS,
        "rule": lambda v: v in BLOCKER_RULES,
        "q": lambda v: True,
    }
    out, errors = {}, {}
    for name in ITEM_FILTERS:
        value = getter(name)
        if value in (None, ""):
            continue
        value = str(value).strip()
        if valid[name](value):
            out[name] = value
        else:
            errors[name] = [_("“%(value)s” is not a valid choice.") % {"value": value}]
    if errors and strict:
        name = next(iter(errors))
        raise DomainValidationError(
            _("The filter “%(name)s” has an invalid value: %(error)s")
            % {"name": name, "error": errors[name][0]},
            code="invalid_filter",
            details=errors,
        )
    return out


def filter_items(qs, filters: dict):
    """`qs` (TaskItems of one task) narrowed by validated filters. The blocker filters match items
    with an open (or appealed) blocker of that kind or rule, through a subquery (no DISTINCT)."""
    if filters.get("state"):
        qs = qs.filter(state=filters["state"])
    if filters.get("tier"):
        qs = qs.filter(tier_id=int(filters["tier"]))
    if filters.get("platform"):
        qs = qs.filter(sub_account__platform=filters["platform"])
    if filters.get("q"):
        qs = qs.filter(sub_account__display_name__icontains=filters["q"])
    blocking = Blocker.objects.filter(state__in=Blocker.BLOCKING_STATES)
    if filters.get("blocker"):
        qs = qs.filter(pk__in=blocking.filter(code=filters["blocker"]).values("item_id"))
    if filters.get("rule"):
        qs = qs.filter(pk__in=blocking.filter(rule=filters["rule"]).values("item_id"))
    return qs


def item_selection(*, task, ids=None, params=None):
    """A user's selection of the task's items: the ticked ids (ids of other tasks or agencies match
    nothing), or every item matching the filter in `params` when ids is None."""
    qs = TaskItem.objects.filter(task=task)
    if ids is not None:
        clean = []
        for value in ids:
            try:
                clean.append(int(value))
            except (TypeError, ValueError) as exc:
                raise DomainValidationError(
                    _("“%(value)s” is not an item id.") % {"value": value}, details={"ids": [str(value)]}
                ) from exc
        if not clean:
            raise DomainValidationError(
                _("Select at least one account, or tick “all matching this filter”."),
                code="empty_selection",
                details={"ids": ["required"]},
            )
        return qs.filter(pk__in=clean)
    return filter_items(qs, item_filter_params(params, strict=True))
