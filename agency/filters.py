"""The sub-account filters, shared by the list page, the API, exports and bulk actions
(and by the shutdown task form through `agency.selectors.subaccount_filter_queryset`)."""

import django_filters
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_filters.widgets import BooleanWidget

from .filtering import EmptyMeansAnyFilterSet
from .models import AccountKind, Platform, Region, SubAccount, SubAccountStatus, SubAccountTag

# Fields a user may sort by (`ordering=followers`, `ordering=-mcn_contract_end`, …).
ORDERING_FIELDS = (
    "display_name",
    "platform",
    "platform_account_id",
    "kind",
    "status",
    "region",
    "followers",
    "owner_name",
    "unwithdrawn_earnings",
    "pending_ad_revenue",
    "mcn_contract_end",
    "created_at",
    "updated_at",
)
SEARCH_FIELDS = ("display_name", "platform_account_id", "owner_name", "owner_mobile", "owner_email")


def open_obligations_q(today=None) -> Q:
    """An account still owes something before it can be shut down cleanly (R3, R4, R8):
    money to settle, topics to hand over, bindings to undo, complaints or orders open,
    live-streaming on, or an MCN contract that has not expired."""
    today = today or timezone.localdate()
    return (
        Q(live_streaming=True)
        | Q(unwithdrawn_earnings__gt=0)
        | Q(pending_ad_revenue__gt=0)
        | Q(hosted_topics__gt=0)
        | Q(bound_mini_programs__gt=0)
        | Q(third_party_authorisations__gt=0)
        | Q(open_infringement_complaints__gt=0)
        | Q(pending_orders__gt=0)
        | Q(mcn_contract_end__gte=today)
    )


class StableOrderingFilter(django_filters.OrderingFilter):
    """`ordering=` with the primary key as the last key, so pages never overlap."""

    def filter(self, qs, value):
        if value in ([], (), {}, "", None):
            return qs.order_by(*SubAccount._meta.ordering, "pk")
        return qs.order_by(*[self.get_ordering_value(param) for param in value], "pk")


class SubAccountFilter(EmptyMeansAnyFilterSet):
    platform = django_filters.MultipleChoiceFilter(choices=Platform.choices, label=_("Platform"))
    kind = django_filters.MultipleChoiceFilter(choices=AccountKind.choices, label=_("Kind"))
    status = django_filters.MultipleChoiceFilter(choices=SubAccountStatus.choices, label=_("Status"))
    region = django_filters.MultipleChoiceFilter(choices=Region.choices, label=_("Region"))
    high_risk = django_filters.BooleanFilter(widget=BooleanWidget, label=_("High public-opinion risk"))
    followers_min = django_filters.NumberFilter(field_name="followers", lookup_expr="gte", label=_("Followers from"))
    followers_max = django_filters.NumberFilter(field_name="followers", lookup_expr="lte", label=_("Followers up to"))
    contract_end_before = django_filters.DateFilter(
        field_name="mcn_contract_end", lookup_expr="lt", label=_("MCN contract ends before")
    )
    has_open_obligations = django_filters.BooleanFilter(
        method="filter_open_obligations", widget=BooleanWidget, label=_("Has open obligations")
    )
    tag = django_filters.CharFilter(method="filter_tag", label=_("Tag"))
    search = django_filters.CharFilter(
        method="filter_search", label=_("Search"),
        help_text=_("Name, platform account id, owner name, mobile or email"),
    )
    archived = django_filters.BooleanFilter(
        method="filter_archived", widget=BooleanWidget, label=_("Archived"),
        help_text=_("true: only archived accounts; by default archived accounts are hidden"),
    )
    ordering = StableOrderingFilter(fields=ORDERING_FIELDS, label=_("Sort by"))
    static_form_class = True  # fixed choices: the form class is built once per process

    class Meta:
        model = SubAccount
        fields: list[str] = []

    def filter_open_obligations(self, queryset, name, value):
        if value is None:
            return queryset
        q = open_obligations_q()
        return queryset.filter(q) if value else queryset.exclude(q)

    def filter_tag(self, queryset, name, value):
        value = (value or "").strip()
        if not value:
            return queryset
        # A semi-join on the (agency, name, subaccount) index.
        return queryset.filter(pk__in=SubAccountTag.objects.filter(name=value).values("subaccount_id"))

    def filter_search(self, queryset, name, value):
        query = Q()
        for term in (value or "").split():
            term_q = Q()
            for field in SEARCH_FIELDS:
                term_q |= Q(**{f"{field}__icontains": term})
            query &= term_q
        return queryset.filter(query) if query else queryset

    def filter_archived(self, queryset, name, value):
        return queryset  # applied in filter_queryset, so that the default (hide archived) always holds

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if self.form.cleaned_data.get("archived"):
            return queryset.filter(archived_at__isnull=False)
        return queryset.filter(archived_at__isnull=True)


# The multiple-choice filters read the table's own columns and join nothing: no DISTINCT (django-
# filter's default made the page a SELECT DISTINCT over every column and the count a subquery).
for _name in ("platform", "kind", "status", "region"):
    SubAccountFilter.base_filters[_name].distinct = False
