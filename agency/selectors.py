"""Reads of the sub-account registry (anything more than one line)."""

from django.http import QueryDict
from django.utils.translation import gettext as _
from django_scopes import scope

from .exceptions import DomainValidationError
from .filters import SubAccountFilter
from .models import Agency, SubAccount, SubAccountChange


def _as_querydict(params) -> QueryDict:
    if isinstance(params, QueryDict):
        return params
    qd = QueryDict(mutable=True)
    for key, value in (params or {}).items():
        if isinstance(value, list | tuple | set):
            qd.setlist(key, [str(v) for v in value])
        elif value is not None:
            qd[key] = str(value).lower() if isinstance(value, bool) else str(value)
    return qd


# Parameters that travel with a filter but are not filters (pages, the selection itself, the file format).
NOT_FILTERS = frozenset({"page", "page_size", "ids", "from_filter", "format", "header"})


def unknown_filter_names(params) -> list[str]:
    """The keys of `params` that are neither a list filter nor one of NOT_FILTERS."""
    known = set(SubAccountFilter.base_filters) | NOT_FILTERS
    return sorted(k for k in _as_querydict(params) if k not in known)


def check_filter_names(params) -> None:
    """A filter that acts on "everything matching" names only known filters: a misspelled key
    (`platfrom`) would otherwise filter nothing and select every account."""
    unknown = unknown_filter_names(params)
    if unknown:
        known = ", ".join(k for k in SubAccountFilter.base_filters)
        raise DomainValidationError(
            _("Unknown filter “%(name)s”; the filters are: %(known)s.") % {"name": unknown[0], "known": known},
            code="unknown_filter", details={name: [_("Unknown filter.")] for name in unknown},
        )


def subaccount_filter_queryset(*, agency: Agency, params) -> "QuerySet[SubAccount]":  # noqa: F821
    """Every non-archived sub-account of `agency` that matches the list filters in `params`
    (a QueryDict or a dict: platform, kind, status, region, high_risk, followers_min,
    followers_max, contract_end_before, has_open_obligations, tag, search, ordering).

    Raises DomainValidationError (details per parameter) when a filter name is unknown or a
    filter value is invalid.
    """
    check_filter_names(params)
    data = _as_querydict(params).copy()
    data.pop("archived", None)  # shutdown candidates are never archived accounts
    for key in ("page", "page_size", "ids", "from_filter"):
        data.pop(key, None)
    with scope(agency=agency):
        filterset = SubAccountFilter(data=data, queryset=SubAccount.objects.filter(agency=agency))
        if not filterset.is_valid():
            raise DomainValidationError(
                _("The filter has invalid values."), details={k: [str(e) for e in v] for k, v in filterset.errors.items()}
            )
        return filterset.qs


def subaccount_selection_queryset(*, agency: Agency, ids=None, params=None, include_archived: bool = False):
    """A user's selection: explicit ids (other agencies' ids simply match nothing), or
    everything matching the filter in `params`."""
    with scope(agency=agency):
        if ids is not None:
            clean_ids = []
            for value in ids:
                try:
                    clean_ids.append(int(value))
                except (TypeError, ValueError) as exc:
                    raise DomainValidationError(
                        _("“%(value)s” is not a sub-account id.") % {"value": value}, details={"ids": [str(value)]}
                    ) from exc
            qs = SubAccount.objects.filter(agency=agency, pk__in=clean_ids)
            if not include_archived:
                qs = qs.filter(archived_at__isnull=True)
            return qs.order_by(*SubAccount._meta.ordering, "pk")
    return subaccount_filter_queryset(agency=agency, params=params or {})


def subaccount_list_queryset(*, agency: Agency, filterset_qs):
    """What a list row needs, in a fixed number of queries (the main account's name)."""
    return filterset_qs.select_related("parent")


def subaccount_history(*, agency: Agency, subaccount_id: int):
    with scope(agency=agency):
        return (
            SubAccountChange.objects.filter(agency=agency, subaccount_id=subaccount_id)
            .select_related("actor", "import_batch")
            .order_by("-created_at", "-id")
        )
