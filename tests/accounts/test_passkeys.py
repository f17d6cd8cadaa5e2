"""Passkeys' rules (the ceremonies themselves run in chromium: tests/e2e/test_account_security.py)."""

import pytest
from django.test import Client
from django_otp_webauthn.models import WebAuthnCredential

from accounts.mfa import second_factor_remove
from accounts.models import SecurityEvent
from accounts.passkeys import passkey_remove

from .test_mfa import enrol, verify

pytestmark = pytest.mark.django_db


def _passkey(user):
    return WebAuthnCredential.objects.create(
        user=user,
        name="laptop",
        credential_id=b"id-" + user.email.encode(),
        public_key=b"pk",
        sign_count=0,
        confirmed=True,
    )


def test_a_passkey_needs_an_authenticator_app_first(world_a):
    client = world_a.client("operator")
    response = client.post("/accounts/passkeys/registration/begin/", content_type="application/json")
    assert response.status_code == 403 and "authenticator app first" in response.json()["detail"]


def test_with_the_app_and_a_verified_session_registration_starts(world_a):
    user = world_a.user("operator")
    device = enrol(user)
    client = Client()
    client.force_login(user)
    # not verified yet at this sign-in: the second-factor page comes first
    assert client.post("/accounts/passkeys/registration/begin/").status_code in (302, 403)
    verify(client, device)
    response = client.post("/accounts/passkeys/registration/begin/", content_type="application/json")
    assert response.status_code == 200 and response.json()["rp"]["id"] == "testserver"


def test_no_password_less_login(world_a):
    response = Client().post("/accounts/passkeys/authentication/begin/", content_type="application/json")
    assert response.status_code == 403


def test_removing_only_ones_own_passkey_and_with_the_app(worlds):
    world_a, world_b = worlds
    mine, theirs = _passkey(world_a.user("operator")), _passkey(world_b.user("operator"))
    passkey_remove(user=world_a.user("operator"), pk=theirs.pk)
    assert WebAuthnCredential.objects.filter(pk=theirs.pk).exists()
    passkey_remove(user=world_a.user("operator"), pk=mine.pk)
    assert not WebAuthnCredential.objects.filter(pk=mine.pk).exists()
    assert SecurityEvent.objects.filter(
        user=world_a.user("operator"), kind=SecurityEvent.Kind.MFA_REMOVED, detail="passkey"
    ).exists()
    _passkey(world_b.user("admin"))
    second_factor_remove(user=world_b.user("admin"))
    assert not WebAuthnCredential.objects.filter(user=world_b.user("admin")).exists()


def test_the_security_page_offers_passkeys_once_the_app_is_set_up(world_a):
    user = world_a.user("operator")
    client = Client()
    client.force_login(user)
    assert "passkey-registration-placeholder" not in client.get("/accounts/security/").content.decode()
    device = enrol(user)
    client = Client()
    client.force_login(user)
    verify(client, device)
    page = client.get("/accounts/security/").content.decode()
    assert "passkey-registration-placeholder" in page and "otp_webauthn_register.js" in page
