"""A deactivated agency is closed to its members: pages, API and API tokens (issue 20).

No test deactivated an agency, so dropping `agency__is_active=True` from the membership lookup
(agency/tenancy.py) went unnoticed: members of a closed agency kept their access.
"""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.security import api_token_create
from agency.models import Agency
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def _deactivate(agency):
    Agency.objects.filter(pk=agency.pk).update(is_active=False)


def _page(world, user_role="owner"):
    client = Client()
    client.force_login(world.user(user_role))
    return client


def test_members_of_a_deactivated_agency_lose_its_pages_and_api(world_a, world_b):
    slug = world_a.agency.slug
    assert _page(world_a).get(f"/a/{slug}/sub-accounts/").status_code == 200
    assert world_a.client("owner").get(f"/api/v1/agencies/{slug}/sub-accounts/").status_code == 200
    _deactivate(world_a.agency)
    for role in ("owner", "operator", "auditor"):
        assert _page(world_a, role).get(f"/a/{slug}/sub-accounts/").status_code == 404
        assert world_a.client(role).get(f"/api/v1/agencies/{slug}/sub-accounts/").status_code == 404
    # the other agency is untouched
    assert (
        world_b.client("owner").get(f"/api/v1/agencies/{world_b.agency.slug}/sub-accounts/").status_code
        == 200
    )


def test_a_member_of_two_agencies_keeps_the_active_one_only(world_a, world_b):
    user = world_a.user("operator")
    MembershipFactory(user=user, agency=world_b.agency, role="operator")
    _deactivate(world_a.agency)
    client = APIClient()
    client.force_login(user)
    assert client.get(f"/api/v1/agencies/{world_a.agency.slug}/sub-accounts/").status_code == 404
    assert client.get(f"/api/v1/agencies/{world_b.agency.slug}/sub-accounts/").status_code == 200


def test_an_api_token_of_a_deactivated_agency_opens_nothing(world_a):
    _token, raw = api_token_create(user=world_a.user("operator"), agency=world_a.agency, name="ci")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    url = f"/api/v1/agencies/{world_a.agency.slug}/sub-accounts/"
    assert client.get(url).status_code == 200
    _deactivate(world_a.agency)
    assert client.get(url).status_code in (401, 404)
