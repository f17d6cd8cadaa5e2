"""Single sign-on with OpenID Connect against a real provider (django-oauth-toolkit) started by the
tests in its own process: discovery → authorize (the person logs in at the provider) → callback
→ signed in to the back office. Skipped, with the reason, when the provider cannot start."""

from urllib.parse import urlsplit

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_scopes import scopes_disabled

from accounts.models import Membership, SecurityEvent, User
from agency.models import Invitation, SsoLink
from agency.services.members import invitation_create
from agency.sso import provider_save

from .oidc_server import CLIENT_ID, CLIENT_SECRET, ProviderUnavailable, sign_in_at_provider, start_provider

CALLBACK = "http://testserver/sso/alpha-mcn/corp/callback/"


@pytest.fixture(scope="module")
def issuer():
    try:
        url, stop = start_provider([CALLBACK])
    except ProviderUnavailable as exc:
        pytest.skip(str(exc))
    yield url
    stop()


@pytest.fixture
def provider(world_a, issuer):
    return provider_save(
        agency=world_a.agency,
        actor=world_a.user("owner"),
        client_secret=CLIENT_SECRET,
        data={
            "kind": "oidc",
            "slug": "corp",
            "display_name": "Corp IdP",
            "issuer": issuer,
            "client_id": CLIENT_ID,
            "email_domains": "corp.example",
            "auto_join": False,
            "auto_join_role": "auditor",
        },
    )


def _sso(client: Client, who: str):
    start = client.get("/sso/alpha-mcn/corp/")
    assert start.status_code == 302, start.content[:300]
    assert "code_challenge=" in start["Location"] and "nonce=" in start["Location"]
    back = sign_in_at_provider(start["Location"], who)
    parts = urlsplit(back)
    assert parts.path == "/sso/alpha-mcn/corp/callback/", back
    return client.get(parts.path + "?" + parts.query)


@pytest.mark.django_db
def test_a_member_signs_in_through_the_company_idp(world_a, provider):
    alice = User.objects.create_user(email="alice@corp.example", password="x-local-pass-1")
    Membership.objects.create(user=alice, agency=world_a.agency, role="operator")
    client = Client()
    response = _sso(client, "alice")
    assert response.status_code == 302 and response["Location"] == "/a/alpha-mcn/"
    page = client.get("/a/alpha-mcn/")
    assert page.status_code == 200 and page.wsgi_request.user == alice
    assert SecurityEvent.objects.filter(user=alice, kind=SecurityEvent.Kind.SSO_LOGIN).exists()
    with scopes_disabled():
        assert SsoLink.objects.get(provider=provider).user == alice
    # the second time, the link (the provider's subject) finds the person
    client2 = Client()
    assert _sso(client2, "alice")["Location"] == "/a/alpha-mcn/"


@pytest.mark.django_db
def test_the_first_sso_sign_in_of_an_invitee_accepts_the_invitation(world_a, provider):
    with world_a.scope():
        invitation, _raw = invitation_create(
            agency=world_a.agency, actor=world_a.user("owner"), email="alice@corp.example", role="legal"
        )
    response = _sso(Client(), "alice")
    assert response.status_code == 302
    alice = User.objects.get(email="alice@corp.example")
    assert not alice.has_usable_password()
    assert Membership.objects.get(user=alice, agency=world_a.agency).role == "legal"
    with scopes_disabled():
        assert Invitation.objects.get(pk=invitation.pk).accepted_by == alice


@pytest.mark.django_db
def test_an_unknown_person_is_refused_and_nothing_is_created(world_a, provider):
    response = _sso(Client(), "eve")
    assert response.status_code == 403
    assert "eve@elsewhere.example is not a member of" in response.content.decode()
    assert "invite you" in response.content.decode()
    assert not User.objects.filter(email="eve@elsewhere.example").exists()
    # a person of the agency's domain is refused too unless the admin lets them join
    response = _sso(Client(), "alice")
    assert response.status_code == 403 and not User.objects.filter(email="alice@corp.example").exists()


@pytest.mark.django_db
def test_people_of_the_domain_join_when_the_admin_allows_it(world_a, provider):
    provider_save(
        agency=world_a.agency,
        actor=world_a.user("owner"),
        provider=provider,
        data={"auto_join": True, "auto_join_role": "auditor"},
    )
    assert _sso(Client(), "alice").status_code == 302
    alice = User.objects.get(email="alice@corp.example")
    assert Membership.objects.get(user=alice, agency=world_a.agency).role == "auditor"
    assert _sso(Client(), "eve").status_code == 403  # another domain still may not


@pytest.mark.django_db
def test_the_second_factor_still_applies_after_sso(world_a, provider):
    alice = User.objects.create_user(email="alice@corp.example", password=None)
    Membership.objects.create(user=alice, agency=world_a.agency, role="operator")
    device = TOTPDevice.objects.create(user=alice, name="authenticator", confirmed=True)
    client = Client()
    assert _sso(client, "alice").status_code == 302
    page = client.get("/a/alpha-mcn/")
    assert page.status_code == 302 and page["Location"].startswith("/accounts/2fa/verify/")
    code = f"{totp(device.bin_key):06d}"
    assert client.post("/accounts/2fa/verify/", {"code": code, "next": "/a/alpha-mcn/"}).status_code == 302
    assert client.get("/a/alpha-mcn/").status_code == 200


@pytest.mark.django_db
def test_the_idp_second_factor_counts_at_sign_in_only_when_the_admin_trusts_it(world_a, provider):
    bob = User.objects.create_user(email="bob@corp.example", password=None)
    Membership.objects.create(user=bob, agency=world_a.agency, role="operator")
    TOTPDevice.objects.create(user=bob, name="authenticator", confirmed=True)
    client = Client()
    _sso(client, "bob")
    assert client.get("/a/alpha-mcn/").status_code == 302  # not trusted: our own code is asked
    provider_save(
        agency=world_a.agency, actor=world_a.user("owner"), provider=provider, data={"trust_idp_mfa": True}
    )
    client = Client()
    _sso(client, "bob")
    assert client.get("/a/alpha-mcn/").status_code == 200  # amr=otp from the IdP
    event = SecurityEvent.objects.filter(user=bob, kind=SecurityEvent.Kind.SSO_LOGIN).last()
    assert "otp" in event.detail


@pytest.mark.django_db
def test_a_provider_that_cannot_be_reached_gives_a_clear_page(world_a, issuer):
    provider_save(
        agency=world_a.agency,
        actor=world_a.user("owner"),
        client_secret="s",
        data={
            "kind": "oidc",
            "slug": "down",
            "display_name": "Down IdP",
            "issuer": "http://127.0.0.1:9/o",
            "client_id": "c",
            "auto_join_role": "auditor",
        },
    )
    response = Client().get("/sso/alpha-mcn/down/")
    assert response.status_code == 502 and "Down IdP cannot be reached" in response.content.decode()


@pytest.mark.django_db
def test_one_agencys_idp_does_not_open_another_agency_until_the_person_links_it(worlds, provider):
    world_a, world_b = worlds
    alice = User.objects.create_user(email="alice@corp.example", password="x-local-pass-1")
    Membership.objects.create(user=alice, agency=world_a.agency, role="operator")
    Membership.objects.create(user=alice, agency=world_b.agency, role="admin")
    response = _sso(Client(), "alice")
    assert response.status_code == 403 and "also belongs to other agencies" in response.content.decode()
    with scopes_disabled():
        assert not SsoLink.objects.exists()
    # signed in with her password, she links the identity herself
    client = Client()
    client.force_login(alice)
    assert _sso(client, "alice").status_code == 302
    with scopes_disabled():
        assert SsoLink.objects.get().user == alice
    # from now on the link signs her in
    fresh = Client()
    assert _sso(fresh, "alice").status_code == 302 and fresh.get("/a/alpha-mcn/").wsgi_request.user == alice
    # another signed-in person cannot take over an identity linked to her
    other = Client()
    other.force_login(world_a.user("auditor"))
    assert _sso(other, "alice").status_code == 403
