"""Badges that apps above `agency` add to rows of the sub-account list (the shutdown app marks
the accounts held by a running task). Each provider is called once per page with the page's
accounts and returns {sub_account_id: [(label, url)]}; apps register theirs in ready()."""

SUBACCOUNT_BADGE_PROVIDERS: list = []


def register_subaccount_badges(provider):
    if provider not in SUBACCOUNT_BADGE_PROVIDERS:
        SUBACCOUNT_BADGE_PROVIDERS.append(provider)
    return provider


def subaccount_badges(*, agency, accounts) -> dict[int, list[tuple[str, str]]]:
    badges: dict[int, list[tuple[str, str]]] = {}
    accounts = list(accounts)
    if not accounts:
        return badges
    for provider in SUBACCOUNT_BADGE_PROVIDERS:
        for pk, rows in provider(agency=agency, accounts=accounts).items():
            badges.setdefault(pk, []).extend(rows)
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
