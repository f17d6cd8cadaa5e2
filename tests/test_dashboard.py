import pytest

from tests.factories import SubAccountFactory


@pytest.mark.django_db
def test_dashboard_shows_counts_of_this_agency_only(world_a, world_b, django_assert_max_num_queries):
    for platform in ("douyin", "weibo", "weibo"):
        SubAccountFactory(agency=world_a.agency, platform=platform)
    for _ in range(5):
        SubAccountFactory(agency=world_b.agency, platform="bilibili")
    client = world_a.client("auditor")
    response = client.get(f"/a/{world_a.agency.slug}/")
    assert response.status_code == 200
    ctx = response.context
    assert ctx["accounts_total"] == 3
    platforms = {b["key"]: b["n"] for b in ctx["accounts_by_platform"]}
    assert platforms["weibo"] == 2
    assert platforms["douyin"] == 1
    assert platforms["bilibili"] == 0


@pytest.mark.django_db
def test_dashboard_query_count_does_not_grow_with_accounts(world_a, django_assert_max_num_queries):
    client = world_a.client("owner")
    client.get(f"/a/{world_a.agency.slug}/")  # warm sessions etc.
    for _ in range(3):
        SubAccountFactory(agency=world_a.agency)
    with django_assert_max_num_queries(40) as small:
        client.get(f"/a/{world_a.agency.slug}/")
    for _ in range(60):
        SubAccountFactory(agency=world_a.agency)
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(f"/a/{world_a.agency.slug}/")
