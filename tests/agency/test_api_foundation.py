import pytest
from django.test import RequestFactory
from rest_framework.response import Response
from rest_framework.test import force_authenticate

from agency.api.base import AgencyScopedAPIView
from agency.models import SubAccount


class _EditProbe(AgencyScopedAPIView):
    required_permissions = {"GET": "subaccounts.view", "POST": "subaccounts.edit"}

    def get(self, request):
        return Response({"count": SubAccount.objects.count()})

    def post(self, request):
        return Response({"received": request.data})


def _call(method, user, slug, data=None, content_type="application/json"):
    rf = RequestFactory()
    request = getattr(rf, method)(f"/api/v1/agencies/{slug}/probe/", data=data, content_type=content_type)
    force_authenticate(request, user=user)
    return _EditProbe.as_view()(request, agency_slug=slug)


@pytest.mark.django_db
def test_agency_list_shows_my_agencies_with_role(world_a, world_b):
    response = world_a.client("legal").get("/api/v1/agencies/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    assert body["results"][0] == {"slug": "alpha-mcn", "name": world_a.agency.name, "time_zone": "Asia/Shanghai",
                                  "role": "legal"}


@pytest.mark.django_db
def test_a_wrong_role_gets_403_naming_the_roles_needed(world_a):
    response = _call("post", world_a.user("auditor"), world_a.agency.slug, data={"x": 1})
    response.render()
    assert response.status_code == 403
    error = response.data["error"]
    assert error["status"] == 403
    assert "Operator" in error["message"] or "运营" in error["message"]


@pytest.mark.django_db
def test_malformed_json_is_400_in_the_error_shape(world_a):
    response = _call("post", world_a.user("operator"), world_a.agency.slug, data="{not json")
    assert response.status_code == 400
    assert response.data["error"]["code"] == "malformed"


@pytest.mark.django_db
def test_scoped_api_view_counts_only_its_agency(world_a, world_b, accounts_a, accounts_b):
    response = _call("get", world_b.user("auditor"), world_b.agency.slug)
    assert response.data == {"count": 3}
    response = _call("get", world_b.user("auditor"), world_a.agency.slug)
    assert response.status_code == 404


@pytest.mark.django_db
def test_members_endpoint_lists_only_this_agency(world_a, world_b):
    response = world_a.client("auditor").get(f"/api/v1/agencies/{world_a.agency.slug}/members/")
    emails = {m["email"] for m in response.json()["results"]}
    assert emails == {f"{r}@alpha-mcn.test" for r in world_a.users}
    assert world_a.client("owner").get(f"/api/v1/agencies/{world_b.agency.slug}/members/").status_code == 404


@pytest.mark.django_db
def test_token_authentication_works(world_a):
    from rest_framework.test import APIClient

    from accounts.security import api_token_create

    _token, raw = api_token_create(user=world_a.user("operator"), agency=world_a.agency, name="ci")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get(f"/api/v1/agencies/{world_a.agency.slug}/members/").status_code == 200


@pytest.mark.django_db
def test_unknown_api_path_is_json_404(client):
    response = client.get("/api/v1/agencies/nope/nothing-here/")
    assert response.status_code == 404
    assert response.json()["error"]["status"] == 404


@pytest.mark.django_db
def test_openapi_schema_and_docs_are_served_locally(client, world_a):
    client.force_login(world_a.user("owner"))
    response = client.get("/api/v1/schema/")
    assert response.status_code == 200
    assert b"openapi" in response.content
    docs = client.get("/api/v1/docs/").content.decode()
    assert "cdn" not in docs.lower()
    assert "/static/drf_spectacular_sidecar/" in docs
