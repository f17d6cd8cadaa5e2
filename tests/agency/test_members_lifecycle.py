"""Invitations (single use, expiring, resend, withdraw), role changes and removals on the
members page with who and when, and the last owner."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils import timezone
from django_scopes import scope

from accounts.models import ApiToken, Membership, User
from accounts.security import api_token_create
from agency.models import Invitation, MemberChange

pytestmark = pytest.mark.django_db


def invite(world, email="new.person@example.cn", role="legal", django_capture_on_commit_callbacks=None):
    client = world.client("admin")
    response = client.post(f"/a/{world.agency.slug}/members/invite/", {"email": email, "role": role})
    assert response.status_code == 302
    return client


def link_in_last_mail() -> str:
    return re.search(r"http://\S+/invitations/\S+/", mail.outbox[-1].body).group(0)


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def test_invite_accept_with_a_password_then_the_link_is_spent(world_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invite(world_a)
    assert mail.outbox[-1].to == ["new.person@example.cn"]
    link = path_of(link_in_last_mail())
    visitor = Client()
    page = visitor.get(link).content.decode()
    assert "Set my password and join" in page
    response = visitor.post(link, {"full_name": "新人", "password1": "Long-enough-pass-42",
                                   "password2": "Long-enough-pass-42"})
    assert response.status_code == 302
    user = User.objects.get(email="new.person@example.cn")
    assert Membership.objects.get(user=user, agency=world_a.agency).role == "legal"
    assert visitor.get(f"/a/{world_a.agency.slug}/").status_code == 200  # signed in
    again = Client().get(link)
    assert again.status_code == 410 and "already used" in again.content.decode()
    page = world_a.client("owner").get(f"/a/{world_a.agency.slug}/members/").content.decode()
    assert "Invited" in page and "Joined" in page and world_a.user("admin").email in page


def test_an_expired_invitation_is_refused(world_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invite(world_a)
    link = path_of(link_in_last_mail())
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        response = Client().get(link)
        assert response.status_code == 410 and "expired" in response.content.decode()
        refused = Client().post(link, {"full_name": "x", "password1": "Long-enough-pass-42",
                                       "password2": "Long-enough-pass-42"})
        assert refused.status_code == 410
    assert not User.objects.filter(email="new.person@example.cn").exists()


def test_resend_replaces_the_link_and_withdraw_ends_it(world_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client = invite(world_a)
    first = path_of(link_in_last_mail())
    with scope(agency=world_a.agency):
        invitation = Invitation.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/a/{world_a.agency.slug}/members/invitations/{invitation.pk}/resend/")
    second = path_of(link_in_last_mail())
    assert first != second
    assert Client().get(first).status_code == 410
    assert Client().get(second).status_code == 200
    client.post(f"/a/{world_a.agency.slug}/members/invitations/{invitation.pk}/revoke/")
    assert "withdrawn" in Client().get(second).content.decode()


def test_an_existing_user_signs_in_to_accept(world_a, world_b, django_capture_on_commit_callbacks):
    person = world_b.user("operator")
    with django_capture_on_commit_callbacks(execute=True):
        invite(world_a, email=person.email, role="auditor")
    link = path_of(link_in_last_mail())
    assert Client().post(link)["Location"].startswith("/accounts/login/")
    signed_in = world_b.client("operator")
    assert signed_in.post(link).status_code == 302
    assert Membership.objects.get(user=person, agency=world_a.agency).role == "auditor"
    assert world_b.client("owner").post(link).status_code == 410  # used


def test_only_managers_invite(world_a):
    response = world_a.client("operator").post(f"/a/{world_a.agency.slug}/members/invite/",
                                               {"email": "x@example.cn", "role": "owner"})
    assert response.status_code == 403


def test_role_change_and_removal_are_recorded_and_revoke_tokens(world_a):
    legal = world_a.user("legal")
    token, _raw = api_token_create(user=legal, agency=world_a.agency, name="x")
    membership = Membership.objects.get(user=legal, agency=world_a.agency)
    owner = world_a.client("owner")
    owner.post(f"/a/{world_a.agency.slug}/members/{membership.pk}/", {"role": "auditor"})
    token.refresh_from_db()
    assert token.revoked_reason == ApiToken.RevokedReason.ROLE_LOWERED
    owner.post(f"/a/{world_a.agency.slug}/members/{membership.pk}/", {"remove": "1"})
    assert not Membership.objects.filter(pk=membership.pk).exists()
    with scope(agency=world_a.agency):
        kinds = list(MemberChange.objects.order_by("created_at").values_list("kind", "old_role", "new_role"))
    assert kinds == [("role", "legal", "auditor"), ("removed", "auditor", "")]
    page = owner.get(f"/a/{world_a.agency.slug}/members/").content.decode()
    assert "Role changed" in page and "Removed" in page and legal.email in page


def test_the_last_owner_can_be_neither_removed_nor_demoted(world_a):
    membership = Membership.objects.get(user=world_a.user("owner"), agency=world_a.agency)
    admin = world_a.client("admin")
    page = admin.post(f"/a/{world_a.agency.slug}/members/{membership.pk}/", {"role": "admin"}, follow=True)
    assert "last owner cannot be demoted" in page.content.decode()
    page = admin.post(f"/a/{world_a.agency.slug}/members/{membership.pk}/", {"remove": "1"}, follow=True)
    assert "last owner cannot be removed" in page.content.decode()
    assert Membership.objects.get(pk=membership.pk).role == "owner"
    # With a second owner, the first may step down.
    Membership.objects.filter(user=world_a.user("admin"), agency=world_a.agency).update(role="owner")
    admin.post(f"/a/{world_a.agency.slug}/members/{membership.pk}/", {"role": "admin"})
    assert Membership.objects.get(pk=membership.pk).role == "admin"


def test_an_invitation_of_one_agency_is_only_for_that_agency(world_a, world_b, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invite(world_a, email="consultant@example.cn")
    link = path_of(link_in_last_mail())
    Client().post(link, {"full_name": "顾问", "password1": "Long-enough-pass-42", "password2": "Long-enough-pass-42"})
    user = User.objects.get(email="consultant@example.cn")
    assert list(Membership.objects.filter(user=user).values_list("agency__slug", flat=True)) == [world_a.agency.slug]


def test_demo_has_a_member_with_an_authenticator_and_an_invitation_waiting():
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from agency.demo import DEMO_INVITATION_TOKEN, seed_demo

    seed_demo(accounts_per_agency=2)
    seed_demo(accounts_per_agency=2)  # idempotent
    assert TOTPDevice.objects.get(user__email="legal2@demo-mcn.cn").confirmed
    page = Client().get(f"/invitations/{DEMO_INVITATION_TOKEN}/")
    assert page.status_code == 200 and "new.legal@demo-mcn.cn" in page.content.decode()
