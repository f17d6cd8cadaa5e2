"""Second factor: enrolment, sign-in, recovery codes, lock-out, the agency's requirement, the
step-up before approving/changing policies/creating tokens, and the security events."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.mfa import recovery_codes_regenerate
from accounts.models import ApiToken, SecurityEvent
from shutdown.states import TaskState
from tests.builders import make_task

pytestmark = pytest.mark.django_db


def code_for(device: TOTPDevice) -> str:
    """The code the app shows now (time_machine moves `now`)."""
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, 0):06d}"


def enrol(user) -> TOTPDevice:
    device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    recovery_codes_regenerate(user=user, record=False)
    return device


def signed_in(user) -> Client:
    """A browser that signed in with the password (second factor not yet given)."""
    client = Client()
    client.force_login(user)
    return client


def verify(client, device) -> None:
    response = client.post("/accounts/2fa/verify/", {"code": code_for(device), "next": "/inbox/"})
    assert response.status_code == 302, response.content.decode()[:500]


def kinds(user) -> list[str]:
    return list(SecurityEvent.objects.filter(user=user).order_by("created_at").values_list("kind", flat=True))


def test_enrolment_shows_a_qr_code_then_recovery_codes_and_is_recorded(world_a):
    user = world_a.user("legal")
    client = signed_in(user)
    page = client.get("/accounts/2fa/setup/").content.decode()
    assert "data:image/svg+xml" in page
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    wrong = client.post("/accounts/2fa/setup/", {"code": "000000"})
    assert wrong.status_code == 400 and "not right" in wrong.content.decode()
    with time_machine.travel(timezone.now() + timedelta(seconds=5)):  # past django-otp's back-off
        done = client.post("/accounts/2fa/setup/", {"code": code_for(device)}).content.decode()
    assert "Recovery codes" in done and done.count("<code>") == 10
    assert TOTPDevice.objects.get(user=user).confirmed
    assert kinds(user) == ["mfa_enrolled"]
    assert "Authenticator app added" in client.get("/accounts/security/").content.decode()


def test_sign_in_asks_for_the_second_factor_before_anything_else(world_a):
    user = world_a.user("operator")
    device = enrol(user)
    client = signed_in(user)
    response = client.get(f"/a/{world_a.agency.slug}/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/2fa/verify/")
    api = client.get(f"/api/v1/agencies/{world_a.agency.slug}/members/")
    assert api.status_code == 403 and api.json()["error"]["code"] == "second_factor_required"
    wrong = client.post("/accounts/2fa/verify/", {"code": "123456"})
    assert "not right" in wrong.content.decode()
    assert kinds(user) == ["mfa_failed"]
    with time_machine.travel(timezone.now() + timedelta(seconds=5)):  # past django-otp's back-off
        verify(client, device)
        assert client.get(f"/a/{world_a.agency.slug}/").status_code == 200


def test_a_recovery_code_works_once(world_a):
    user = world_a.user("operator")
    enrol(user)
    codes = recovery_codes_regenerate(user=user)
    client = signed_in(user)
    assert client.post("/accounts/2fa/verify/", {"code": codes[0], "next": "/inbox/"}).status_code == 302
    other = signed_in(user)
    again = other.post("/accounts/2fa/verify/", {"code": codes[0]})
    assert again.status_code == 400
    assert "recovery_used" in kinds(user) and "mfa_failed" in kinds(user)


def test_repeated_wrong_codes_lock_the_second_factor(world_a, settings):
    settings.MFA_LOCKOUT_FAILURES = 3
    user = world_a.user("operator")
    device = enrol(user)
    client = signed_in(user)
    start = timezone.now()
    for i in range(3):
        with time_machine.travel(start + timedelta(seconds=60 * i)):
            client.post("/accounts/2fa/verify/", {"code": "000000"})
    assert kinds(user).count("mfa_failed") == 3 and "mfa_locked" in kinds(user)
    with time_machine.travel(start + timedelta(minutes=5)):
        refused = client.post("/accounts/2fa/verify/", {"code": code_for(device)})
        assert "Too many wrong codes" in refused.content.decode()
    with time_machine.travel(start + timedelta(minutes=20)):
        verify(client, device)


def test_the_agency_can_require_a_second_factor_for_a_role(world_a):
    agency = world_a.agency
    agency.settings = {"mfa_required_roles": ["legal"]}
    agency.save()
    legal = signed_in(world_a.user("legal"))
    response = legal.get(f"/a/{agency.slug}/tasks/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/2fa/setup/")
    api = legal.get(f"/api/v1/agencies/{agency.slug}/members/")
    assert api.status_code == 403 and "requires a second factor" in api.json()["error"]["message"]
    assert signed_in(world_a.user("operator")).get(f"/a/{agency.slug}/tasks/").status_code == 200


def test_the_default_policy_requires_it_of_owner_admin_legal_finance(world_a):
    from agency.security import mfa_required_for

    world_a.agency.settings = {}
    assert [r for r in world_a.users if mfa_required_for(world_a.agency, r)] == ["owner", "admin", "legal", "finance"]


def test_approving_needs_a_recent_step_up(world_a):
    owner = world_a.user("owner")
    device = enrol(owner)
    task = make_task(world_a, items=1)
    world_a.client("operator").post(f"/api/v1/agencies/{world_a.agency.slug}/shutdown-tasks/{task.pk}/submit/",
                                    {}, format="json")
    client = signed_in(owner)
    start = timezone.now()
    with time_machine.travel(start):
        verify(client, device)
    url = f"/a/{world_a.agency.slug}/approvals/tasks/{task.pk}/approve/"
    with time_machine.travel(start + timedelta(minutes=10)):  # the sign-in check is too old now
        response = client.post(url, {"comment": "ok"})
        assert response.status_code == 302 and "step_up=1" in response["Location"]
        task.refresh_from_db()
        assert task.state == TaskState.IN_APPROVAL
        verify(client, device)
        client.post(url, {"comment": "ok"})
    task.refresh_from_db()
    assert task.state != TaskState.IN_APPROVAL


def test_api_step_up_takes_the_code_in_a_header(world_a):
    owner = world_a.user("owner")
    device = enrol(owner)
    task = make_task(world_a, items=1)
    base = f"/api/v1/agencies/{world_a.agency.slug}"
    world_a.client("operator").post(f"{base}/shutdown-tasks/{task.pk}/submit/", {}, format="json")
    from rest_framework.test import APIClient

    from accounts.security import api_token_create

    _t, raw = api_token_create(user=owner, agency=world_a.agency, name="bot", scope="role")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    refused = client.post(f"{base}/shutdown-tasks/{task.pk}/approve/", {}, format="json")
    assert refused.status_code == 403 and "X-Second-Factor" in refused.json()["error"]["message"]
    ok = client.post(f"{base}/shutdown-tasks/{task.pk}/approve/", {}, format="json",
                     headers={"X-Second-Factor": code_for(device)})
    assert ok.status_code == 200


def test_changing_policies_and_creating_tokens_need_a_step_up(world_a):
    owner = world_a.user("owner")
    device = enrol(owner)
    client = signed_in(owner)
    start = timezone.now()
    with time_machine.travel(start):
        verify(client, device)
    later = start + timedelta(minutes=6)
    slug = world_a.agency.slug
    with time_machine.travel(later):
        for url, data in [(f"/a/{slug}/tokens/", {"name": "x", "scope": "read", "days": "5"}),
                          (f"/a/{slug}/deadlines/policy/", {}),
                          (f"/a/{slug}/deadlines/reminder-rules/", {}),
                          (f"/a/{slug}/approvals/policy/new/", {}),
                          (f"/a/{slug}/security/", {})]:
            response = client.post(url, data)
            assert response.status_code == 302 and "/accounts/2fa/verify/" in response["Location"], url
        assert not ApiToken.objects.exists()
        verify(client, device)
        client.post(f"/a/{slug}/tokens/", {"name": "x", "scope": "read", "days": "5"})
    assert ApiToken.objects.count() == 1


def test_removing_the_second_factor_needs_a_step_up_and_is_recorded(world_a):
    user = world_a.user("operator")
    device = enrol(user)
    client = signed_in(user)
    start = timezone.now()
    with time_machine.travel(start):
        verify(client, device)
        client.post("/accounts/2fa/remove/")
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert "mfa_removed" in kinds(user)


def test_the_owner_sees_members_security_events_others_do_not(world_a, world_b):
    legal = world_a.user("legal")
    signed_in(legal).post("/accounts/2fa/setup/", {"code": "1"})  # nothing recorded: no device confirmed
    enrol(legal)
    SecurityEvent.objects.create(user=legal, kind="mfa_failed")
    SecurityEvent.objects.create(user=world_b.user("legal"), kind="mfa_removed")
    page = world_a.client("owner").get(f"/a/{world_a.agency.slug}/security/").content.decode()
    assert "Wrong second-factor code" in page and legal.email in page
    assert "Authenticator app removed" not in page  # another agency's member
    admin_page = world_a.client("admin").get(f"/a/{world_a.agency.slug}/security/").content.decode()
    assert "Wrong second-factor code" not in admin_page
    assert world_a.client("operator").get(f"/a/{world_a.agency.slug}/security/").status_code == 403
