"""The agency admin links identity providers; the sign-in page finds them; passwords can be
turned off for members (the owner keeps one)."""

import pytest
from django.test import Client
from django_scopes import scopes_disabled

from agency.models import IdentityProvider
from agency.sso import provider_save, secret_unseal

FORM = {
    "kind": "oidc",
    "display_name": "Corp IdP",
    "slug": "corp",
    "issuer": "https://idp.corp.example/realms/a",
    "client_id": "bo",
    "client_secret": "s3cret-value",
    "email_domains": "corp.example, corp.cn",
    "auto_join_role": "auditor",
    "is_active": "on",
}


def _provider():
    with scopes_disabled():
        return IdentityProvider.objects.get()


@pytest.mark.django_db
def test_an_admin_links_a_provider_and_the_secret_is_kept_sealed(world_a):
    client = world_a.client("admin")
    response = client.post("/a/alpha-mcn/security/sso/", FORM)
    assert response.status_code == 302, response.content.decode()[:2000]
    provider = _provider()
    assert secret_unseal(provider.client_secret_sealed) == "s3cret-value"
    assert provider.domains == ["corp.example", "corp.cn"]
    page = client.get("/a/alpha-mcn/security/sso/").content.decode()
    assert "Corp IdP" in page and "s3cret-value" not in page
    assert "http://testserver/sso/alpha-mcn/corp/callback/" in page
    # changing other fields with the secret left empty keeps it
    response = client.post(
        f"/a/alpha-mcn/security/sso/{provider.pk}/", {**FORM, "client_secret": "", "display_name": "Corp SSO"}
    )
    assert response.status_code == 302
    provider = _provider()
    assert (
        provider.display_name == "Corp SSO" and secret_unseal(provider.client_secret_sealed) == "s3cret-value"
    )


@pytest.mark.django_db
def test_bad_input_names_the_field_and_changes_nothing(world_a):
    client = world_a.client("admin")
    response = client.post("/a/alpha-mcn/security/sso/", {**FORM, "issuer": "", "client_secret": ""})
    assert response.status_code == 400
    page = response.content.decode()
    assert "OpenID Connect needs the issuer" in page and "Enter the client secret" in page
    response = client.post("/a/alpha-mcn/security/sso/", {**FORM, "auto_join": "on", "email_domains": ""})
    assert response.status_code == 400 and "List the email domains" in response.content.decode()
    with scopes_disabled():
        assert not IdentityProvider.objects.exists()


@pytest.mark.django_db
def test_only_managers_of_the_agency_see_its_providers(worlds):
    world_a, world_b = worlds
    provider = provider_save(
        agency=world_a.agency,
        actor=world_a.user("owner"),
        client_secret="x",
        data={**FORM, "is_active": True},
    )
    assert world_a.client("operator").get("/a/alpha-mcn/security/sso/").status_code == 403
    assert world_b.client("admin").get("/a/alpha-mcn/security/sso/").status_code == 404
    assert world_b.client("admin").get(f"/a/beta-mcn/security/sso/{provider.pk}/").status_code == 404
    assert (
        world_b.client("admin").post(f"/a/beta-mcn/security/sso/{provider.pk}/", {"delete": "1"}).status_code
        == 404
    )
    assert _provider() == provider


@pytest.mark.django_db
def test_the_sign_in_page_offers_sso_by_email_domain_or_agency(world_a):
    provider_save(
        agency=world_a.agency,
        actor=world_a.user("owner"),
        client_secret="x",
        data={**FORM, "is_active": True},
    )
    client = Client()
    assert "/sso/" in client.get("/accounts/login/").content.decode()
    response = client.get("/sso/", {"q": "someone@corp.example"})
    assert response.status_code == 302 and response["Location"] == "/sso/alpha-mcn/corp/"
    assert client.get("/sso/", {"q": "alpha-mcn"})["Location"] == "/sso/alpha-mcn/corp/"
    page = client.get("/sso/", {"q": "someone@gmail.example"})
    assert page.status_code == 200 and "No single sign-on is set up" in page.content.decode()
    # a domain that merely contains the listed one does not match
    assert client.get("/sso/", {"q": "x@notcorp.example"}).status_code == 200
    assert client.get("/sso/alpha-mcn/nope/").status_code == 404


@pytest.mark.django_db
def test_passwords_can_be_turned_off_only_with_a_provider_and_the_owner_keeps_one(world_a):
    admin = world_a.client("admin")
    admin.post("/a/alpha-mcn/security/sso/", {"password_login": "0"})
    world_a.agency.refresh_from_db()
    assert world_a.agency.settings.get("password_login_allowed", True) is True
    provider_save(
        agency=world_a.agency,
        actor=world_a.user("owner"),
        client_secret="x",
        data={**FORM, "is_active": True},
    )
    admin.post("/a/alpha-mcn/security/sso/", {"password_login": "0"})
    world_a.agency.refresh_from_db()
    assert world_a.agency.settings["password_login_allowed"] is False

    operator = world_a.user("operator")
    operator.set_password("pw-Operator-123")
    operator.save()
    response = Client().post("/accounts/login/", {"username": operator.email, "password": "pw-Operator-123"})
    assert response.status_code == 200
    assert "signs its members in with single sign-on" in response.content.decode()
    owner = world_a.user("owner")
    owner.set_password("pw-Owner-123")
    owner.save()
    assert (
        Client().post("/accounts/login/", {"username": owner.email, "password": "pw-Owner-123"}).status_code
        == 302
    )
    # removing the last provider gives the members their passwords back
    from agency.sso import provider_delete

    provider_delete(agency=world_a.agency, actor=world_a.user("owner"), provider=_provider())
    world_a.agency.refresh_from_db()
    assert world_a.agency.settings["password_login_allowed"] is True
    from accounts.models import SecurityEvent

    details = list(
        SecurityEvent.objects.filter(kind=SecurityEvent.Kind.SSO_CONFIG).values_list("detail", flat=True)
    )
    assert any("passwords turned off" in d for d in details) and any("removed" in d for d in details)
    assert any("linked" in d for d in details)


@pytest.mark.django_db
def test_the_django_admin_never_shows_the_secret(world_a, admin_client):
    provider = provider_save(
        agency=world_a.agency,
        actor=world_a.user("owner"),
        client_secret="s3cret-value",
        data={**FORM, "is_active": True},
    )
    for url in ("/admin/agency/identityprovider/", f"/admin/agency/identityprovider/{provider.pk}/change/"):
        page = admin_client.get(url)
        assert page.status_code == 200
        assert "s3cret-value" not in page.content.decode()
        assert provider.client_secret_sealed not in page.content.decode()


@pytest.mark.django_db
def test_the_api_lists_providers_with_the_secret_masked(worlds, django_assert_max_num_queries):
    world_a, world_b = worlds
    for n in range(3):
        provider_save(
            agency=world_a.agency,
            actor=world_a.user("owner"),
            client_secret=f"s3cret-{n}",
            data={**FORM, "slug": f"corp{n}", "is_active": True},
        )
    client = world_a.client("admin")
    with django_assert_max_num_queries(8):
        response = client.get("/api/v1/agencies/alpha-mcn/identity-providers/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "s3cret" not in body and "client_secret_sealed" not in body
    rows = response.json()["results"] if isinstance(response.json(), dict) else response.json()
    assert {r["client_secret"] for r in rows} == {"••••••••"}
    assert rows[0]["redirect_uri"].startswith("http://testserver/sso/alpha-mcn/corp")
    assert world_a.client("operator").get("/api/v1/agencies/alpha-mcn/identity-providers/").status_code == 403
    assert world_b.client("admin").get("/api/v1/agencies/alpha-mcn/identity-providers/").status_code == 404
    other = world_b.client("admin").get("/api/v1/agencies/beta-mcn/identity-providers/")
    assert other.status_code == 200 and "corp0" not in other.content.decode()


@pytest.mark.django_db
def test_the_invitation_page_offers_the_agencys_single_sign_on(world_a):
    from agency.services.members import invitation_create

    provider_save(
        agency=world_a.agency,
        actor=world_a.user("owner"),
        client_secret="x",
        data={**FORM, "is_active": True},
    )
    with world_a.scope():
        _invitation, raw = invitation_create(
            agency=world_a.agency, actor=world_a.user("owner"), email="new@corp.example", role="legal"
        )
    page = Client().get(f"/invitations/{raw}/").content.decode()
    assert 'href="/sso/alpha-mcn/corp/"' in page and "Corp IdP" in page
