"""Personal API tokens: hashed, shown once, one agency, scoped, expiring, revocable; removing a
member or lowering their role revokes their tokens and signs them out."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken, Membership, SecurityEvent, UserSession
from accounts.roles import Role
from accounts.security import api_token_create, hash_token

pytestmark = pytest.mark.django_db


def bearer(raw: str) -> APIClient:
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return c


def members_url(world) -> str:
    return f"/api/v1/agencies/{world.agency.slug}/members/"


def test_only_a_hash_is_stored_and_the_raw_token_is_shown_once(world_a):
    client = world_a.client("operator")
    response = client.post(f"/api/v1/agencies/{world_a.agency.slug}/tokens/", {"name": "sheet"}, format="json")
    assert response.status_code == 201
    raw = response.json()["token"]
    token = ApiToken.objects.get()
    assert raw not in {token.key_hash, token.prefix} and token.key_hash == hash_token(raw)
    assert token.scope == ApiToken.Scope.READ_ONLY
    assert (token.expires_at - timezone.now()).days in (89, 90)  # 90 days by default
    listed = client.get(f"/api/v1/agencies/{world_a.agency.slug}/tokens/").json()
    assert listed[0]["name"] == "sheet" and "token" not in listed[0] and listed[0]["last_used_at"] is None
    assert bearer(raw).get(members_url(world_a)).status_code == 200
    assert client.get(f"/api/v1/agencies/{world_a.agency.slug}/tokens/").json()[0]["last_used_at"] is not None
    assert SecurityEvent.objects.filter(user=world_a.user("operator"), kind="token_created").exists()


def test_back_office_page_creates_lists_and_revokes(world_a):
    client = world_a.client("operator")
    url = f"/a/{world_a.agency.slug}/tokens/"
    page = client.post(url, {"name": "爬虫", "scope": "role", "days": "30"}).content.decode()
    token = ApiToken.objects.get()
    assert "Copy it now" in page and f"mcn_{token.prefix}_" in page
    assert "mcn_" + token.prefix + "_" not in client.get(url).content.decode().replace(f"<code>mcn_{token.prefix}</code>", "")
    client.post(f"{url}{token.pk}/revoke/")
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert "Revoked" in client.get(url).content.decode()


def test_a_revoked_token_is_refused_with_a_reason(world_a):
    token, raw = api_token_create(user=world_a.user("operator"), agency=world_a.agency, name="x")
    world_a.client("operator").delete(f"/api/v1/agencies/{world_a.agency.slug}/tokens/{token.pk}/")
    response = bearer(raw).get(members_url(world_a))
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["message"]


def test_an_expired_token_is_refused(world_a):
    _token, raw = api_token_create(user=world_a.user("operator"), agency=world_a.agency, name="x", days=1)
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        response = bearer(raw).get(members_url(world_a))
    assert response.status_code == 401
    assert "expired" in response.json()["error"]["message"]


def test_an_unknown_token_is_refused(world_a):
    assert bearer("mcn_deadbeef_nope").get(members_url(world_a)).status_code == 401


def test_a_read_only_token_cannot_write(world_a):
    _token, raw = api_token_create(user=world_a.user("owner"), agency=world_a.agency, name="ro")
    response = bearer(raw).post(f"/api/v1/agencies/{world_a.agency.slug}/sub-accounts/", {}, format="json")
    assert response.status_code == 403
    assert "read-only" in response.json()["error"]["message"]


def test_a_role_token_writes_what_the_role_may(world_a):
    _token, raw = api_token_create(user=world_a.user("auditor"), agency=world_a.agency, name="rw", scope="role")
    response = bearer(raw).post(f"/api/v1/agencies/{world_a.agency.slug}/sub-accounts/", {}, format="json")
    assert response.status_code == 403  # the auditor's role cannot edit, whatever the token says


def test_a_users_agencies_through_a_token_are_only_the_tokens(world_a, world_b):
    consultant = world_a.user("operator")
    Membership.objects.create(user=consultant, agency=world_b.agency, role=Role.OPERATOR)
    _token, raw = api_token_create(user=consultant, agency=world_a.agency, name="a-only")
    assert [a["slug"] for a in bearer(raw).get("/api/v1/agencies/").json()["results"]] == [world_a.agency.slug]


def test_removing_a_member_revokes_their_tokens_and_ends_their_sessions(world_a, client):
    user = world_a.user("legal")
    token, raw = api_token_create(user=user, agency=world_a.agency, name="x")
    client.force_login(user)
    assert UserSession.objects.filter(user=user).count() == 1
    assert client.get(f"/a/{world_a.agency.slug}/").status_code == 200
    Membership.objects.get(user=user, agency=world_a.agency).delete()
    token.refresh_from_db()
    assert token.revoked_reason == ApiToken.RevokedReason.MEMBER_REMOVED
    assert bearer(raw).get(members_url(world_a)).status_code == 401
    assert not UserSession.objects.filter(user=user).exists()
    assert client.get("/inbox/").status_code == 302  # signed out


def test_lowering_a_role_revokes_tokens_raising_it_does_not(world_a):
    user = world_a.user("operator")
    keep, _ = api_token_create(user=user, agency=world_a.agency, name="keep")
    membership = Membership.objects.get(user=user, agency=world_a.agency)
    membership.role = Role.ADMIN
    membership.save()
    keep.refresh_from_db()
    assert keep.revoked_at is None
    membership.role = Role.AUDITOR
    membership.save()
    keep.refresh_from_db()
    assert keep.revoked_reason == ApiToken.RevokedReason.ROLE_LOWERED


def test_users_see_and_end_their_own_sessions(world_a):
    from django.test import Client

    user = world_a.user("operator")
    phone, laptop = Client(), Client()
    phone.force_login(user)
    laptop.force_login(user)
    page = laptop.get("/accounts/security/").content.decode()
    assert "This browser" in page and "Sign out everywhere else" in page
    laptop.post("/accounts/security/sessions/end/", {"session": "others"})
    assert phone.get("/inbox/").status_code == 302
    assert laptop.get("/inbox/").status_code == 200
    assert "Sessions signed out" in laptop.get("/accounts/security/").content.decode()


def test_the_openapi_document_describes_the_token(world_a):
    schema = world_a.client("owner").get("/api/v1/schema/?format=json").json()
    scheme = schema["components"]["securitySchemes"]["apiToken"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    assert "/api/v1/agencies/{agency_slug}/tokens/" in schema["paths"]
