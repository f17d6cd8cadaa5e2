"""Badges that apps above `agency` add to rows of the sub-account list (the shutdown app marks
the accounts held by a running task); apps register theirs in ready().

A provider has `annotate(queryset) -> queryset`, which adds what it needs to the list's own page
query (a subquery per row, so badges cost no query of their own), and
`rows(agency=, account=) -> [(label, url)]`, which reads those annotations."""

SUBACCOUNT_BADGE_PROVIDERS: list = []


def register_subaccount_badges(provider):
    if provider not in SUBACCOUNT_BADGE_PROVIDERS:
        SUBACCOUNT_BADGE_PROVIDERS.append(provider)
    return provider


def subaccount_badge_annotate(queryset):
    for provider in SUBACCOUNT_BADGE_PROVIDERS:
        queryset = provider.annotate(queryset)
    return queryset


def subaccount_badges(*, agency, accounts) -> dict[int, list[tuple[str, str]]]:
    """{sub_account_id: [(label, url)]} for accounts read through subaccount_badge_annotate."""
    badges: dict[int, list[tuple[str, str]]] = {}
    for account in accounts:
        for provider in SUBACCOUNT_BADGE_PROVIDERS:
            rows = provider.rows(agency=agency, account=account)
            if rows:
                badges.setdefault(account.pk, []).extend(rows)
    return badges


# Links on a sub-account's page to what other apps keep about it (its shutdown tasks, its
# deadlines timeline): each provider returns [(label, url, note)] for one account.
SUBACCOUNT_LINK_PROVIDERS: list = []


def register_subaccount_links(provider):
    if provider not in SUBACCOUNT_LINK_PROVIDERS:
        SUBACCOUNT_LINK_PROVIDERS.append(provider)
    return provider


def subaccount_links(*, agency, account) -> list[tuple[str, str, str]]:
    links: list[tuple[str, str, str]] = []
    for provider in SUBACCOUNT_LINK_PROVIDERS:
        links.extend(provider(agency=agency, account=account))
    return links
