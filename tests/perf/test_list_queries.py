"""The sub-account list stays cheap (issue 16): no DISTINCT on filters that join nothing, and a
fixed, small number of queries for the HTML page (the membership is read once by the tenancy
check; the top bar and the inbox count reuse it)."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from accounts.models import Membership
from accounts.roles import Role
from agency.filters import SubAccountFilter
from agency.models import SubAccount
from tests.factories import AgencyFactory, SubAccountFactory

pytestmark = pytest.mark.django_db


def test_multiple_choice_filters_on_own_columns_use_no_distinct(world_a):
    with scope(agency=world_a.agency):
        params = {"platform": ["douyin", "weibo"], "kind": ["personal"], "status": ["active"],
                  "region": ["domestic"], "ordering": "-followers"}
        qs = SubAccountFilter(data=params, queryset=SubAccount.objects.filter(agency=world_a.agency)).qs
        sql = str(qs.query).upper()
    assert "DISTINCT" not in sql, sql


def _page_queries(client: Client, url: str) -> list[str]:
    client.get(url)  # warm caches (policy, calendar) that the first request of a process fills
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return [q["sql"] for q in captured.captured_queries]


@pytest.mark.parametrize("role", [Role.OWNER, Role.OPERATOR, Role.AUDITOR])
def test_the_html_list_page_takes_a_fixed_six_queries(world_a, role):
    """Session, user, memberships (once), count, page (the running-task badges ride on it as
    subqueries), the inbox count: six, whatever the number of accounts."""
    for i in range(30):
        SubAccountFactory(agency=world_a.agency, platform=("douyin", "weibo")[i % 2])
    user = world_a.user(role)
    # A second agency to switch to: the switcher lists it without another query.
    Membership.objects.create(user=user, agency=AgencyFactory(slug="other-mcn"), role=Role.AUDITOR)
    client = Client()
    client.force_login(user)
    url = f"/a/{world_a.agency.slug}/sub-accounts/?platform=douyin&ordering=-followers&page_size=20"
    queries = _page_queries(client, url)
    assert len(queries) <= 6, "\n".join(queries)
    membership_reads = [q for q in queries if 'FROM "accounts_membership"' in q]
    assert len(membership_reads) == 1, "\n".join(membership_reads)
