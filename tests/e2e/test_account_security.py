"""Issue 18 in a real browser: enrol an authenticator app (the code computed from the key shown on
the page), approve with a step-up, create and revoke an API token (raw value shown once), accept
an invitation, and sign in through the local OpenID Connect provider (tests/oidc_provider)."""

import base64
import re
import time

import pytest
import requests
from django_otp.oath import totp
from django_scopes import scope

from accounts.models import Membership, SecurityEvent, User
from agency.services.members import invitation_create
from agency.sso import provider_save
from shutdown.states import TaskState
from tests.accounts.oidc_server import CLIENT_ID, CLIENT_SECRET, ProviderUnavailable, start_provider
from tests.builders import make_task

from .conftest import login

PASSWORD = "e2e-Passw0rd-long"


def either(en: str, zh: str) -> re.Pattern:
    return re.compile(f"{re.escape(en)}|{re.escape(zh)}")


def code_from(secret_b32: str, drift: int = 0) -> str:
    return f"{totp(base64.b32decode(secret_b32), drift=drift):06d}"


@pytest.mark.django_db(transaction=True)
def test_enrol_step_up_approve_and_tokens(transactional_db, world_a, live_server, desktop, settings):
    page = desktop
    owner = world_a.user("owner")
    owner.set_password(PASSWORD)
    owner.save()
    task = make_task(world_a, items=1)
    world_a.client("operator").post(
        f"/api/v1/agencies/alpha-mcn/shutdown-tasks/{task.pk}/submit/", {}, format="json"
    )
    login(page, live_server, owner.email, PASSWORD)

    # enrol: the key shown on the page is what an authenticator app would read from the QR code
    page.goto(f"{live_server.url}/accounts/2fa/setup/")
    secret = page.locator("#totp-secret").inner_text().strip()
    page.fill("#id_code", code_from(secret))
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    codes = page.locator("main").inner_text()
    assert re.search(r"[a-z0-9]{8}", codes), codes[:500]

    # approving needs a recent second-factor check: let the check go stale, then approve
    settings.MFA_STEP_UP_SECONDS = 1
    time.sleep(1.5)
    page.goto(f"{live_server.url}/a/alpha-mcn/tasks/{task.pk}/")
    approve = page.locator("form[action$='/approve/'] button[type=submit]")
    approve.click()
    page.wait_for_load_state("networkidle")
    assert "/accounts/2fa/verify/" in page.url
    page.fill("#id_code", code_from(secret, drift=1))  # the next period's code: the first one was used
    settings.MFA_STEP_UP_SECONDS = 300
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert f"/tasks/{task.pk}/" in page.url
    page.locator("form[action$='/approve/'] button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    task.refresh_from_db()
    assert task.state != TaskState.IN_APPROVAL

    # a personal API token: shown once, works, then revoked
    page.goto(f"{live_server.url}/a/alpha-mcn/tokens/")
    page.fill("#id_name", "finance sheet")
    page.locator("main form button[type=submit]", has_text=either("Create token", "创建令牌")).click()
    page.wait_for_load_state("networkidle")
    raw = page.locator("#raw-token").inner_text().strip()
    assert raw.startswith("mcn_")
    api = f"{live_server.url}/api/v1/agencies/alpha-mcn/sub-accounts/"
    assert requests.get(api, headers={"Authorization": f"Bearer {raw}"}, timeout=10).status_code == 200
    page.goto(f"{live_server.url}/a/alpha-mcn/tokens/")
    assert raw not in page.content()
    page.locator("form[action*='/revoke/'] button").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_text(either("Revoked", "已撤销")).count() >= 1
    assert requests.get(api, headers={"Authorization": f"Bearer {raw}"}, timeout=10).status_code == 401


@pytest.mark.django_db(transaction=True)
def test_accept_an_invitation(transactional_db, world_a, live_server, desktop):
    page = desktop
    with scope(agency=world_a.agency):
        _invitation, raw = invitation_create(
            agency=world_a.agency, actor=world_a.user("owner"), email="new.person@example.com", role="legal"
        )
    page.goto(f"{live_server.url}/invitations/{raw}/")
    page.fill("#id_full_name", "新成员")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/a/alpha-mcn/")
    user = User.objects.get(email="new.person@example.com")
    assert Membership.objects.get(user=user, agency=world_a.agency).role == "legal"
    # the link is single-use
    page.goto(f"{live_server.url}/invitations/{raw}/")
    assert page.get_by_text(either("already used", "已被使用")).count() >= 1


@pytest.mark.django_db(transaction=True)
def test_sign_in_through_the_local_openid_connect_provider(transactional_db, world_a, live_server, desktop):
    try:
        issuer, stop = start_provider([f"{live_server.url}/sso/alpha-mcn/corp/callback/"])
    except ProviderUnavailable as exc:
        pytest.skip(str(exc))
    try:
        provider_save(
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
                "auto_join_role": "auditor",
            },
        )
        alice = User.objects.create_user(email="alice@corp.example", password=None)
        Membership.objects.create(user=alice, agency=world_a.agency, role="operator")
        page = desktop
        page.goto(f"{live_server.url}/accounts/login/")
        page.locator("#sso-link").click()
        page.fill("#sso-q", "alice@corp.example")
        page.locator("main form button[type=submit]").click()
        page.wait_for_load_state("networkidle")
        assert page.get_by_text("Company IdP").count() >= 1  # at the provider now
        page.fill("#id_username", "alice")
        page.fill("#id_password", "idp-pass")
        page.get_by_text("Sign in at the IdP").click()
        page.wait_for_url(re.compile(r".*/a/alpha-mcn/$"))
        assert SecurityEvent.objects.filter(user=alice, kind=SecurityEvent.Kind.SSO_LOGIN).count() == 1
        assert page.locator("main").is_visible()
    finally:
        stop()


@pytest.mark.django_db(transaction=True)
def test_a_passkey_gives_the_second_factor(transactional_db, world_a, live_server, desktop, settings):
    """A virtual authenticator (Chrome DevTools WebAuthn) stands in for a fingerprint reader."""
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = [live_server.url]
    page = desktop
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    user = world_a.user("operator")
    user.set_password(PASSWORD)
    user.save()
    login(page, live_server, user.email, PASSWORD)
    page.goto(f"{live_server.url}/accounts/2fa/setup/")
    secret = page.locator("#totp-secret").inner_text().strip()
    page.fill("#id_code", code_from(secret))
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state("networkidle")

    page.goto(f"{live_server.url}/accounts/security/")
    page.locator("#passkey-register-button").click()
    page.wait_for_selector("#passkey-register-status-message[data-status-enum='success']")
    from django_otp_webauthn.models import WebAuthnCredential

    assert WebAuthnCredential.objects.filter(user=user).count() == 1
    assert SecurityEvent.objects.filter(
        user=user, kind=SecurityEvent.Kind.MFA_ENROLLED, detail="passkey"
    ).exists()

    # sign in again: the passkey answers the second-factor question instead of the code
    page.context.clear_cookies()
    login(page, live_server, user.email, PASSWORD)
    assert "/accounts/2fa/verify/" in page.url
    page.locator("#passkey-verification-button").click()
    page.wait_for_url(re.compile(r".*/a/alpha-mcn/$"))
    assert page.locator("main").is_visible()
