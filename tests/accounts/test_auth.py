import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import normalise_mobile
from accounts.roles import PERMISSIONS, Role, role_has, roles_with
from tests.factories import PASSWORD, UserFactory


def test_mobile_numbers_are_stored_e164():
    assert normalise_mobile("138 0013 8000") == "+8613800138000"
    assert normalise_mobile("+65 8123 4567") == "+6581234567"
    with pytest.raises(ValidationError):
        normalise_mobile("12345")


def test_every_permission_names_known_roles_and_owner_has_all():
    for permission, roles in PERMISSIONS.items():
        assert roles <= set(Role.values), permission
        assert role_has(Role.OWNER, permission), permission
    assert not role_has(Role.AUDITOR, "subaccounts.edit")
    assert roles_with("approvals.policy") == ["owner", "admin"]


@pytest.mark.django_db
def test_login_with_email_then_lands_in_the_only_agency(client, world_a):
    response = client.post(reverse("accounts:login"), {"username": "OPERATOR@alpha-mcn.test", "password": PASSWORD})
    assert response.status_code == 302
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0] == f"/a/{world_a.agency.slug}/"


@pytest.mark.django_db
def test_wrong_password_shows_a_message_not_a_trace(client, world_a):
    response = client.post(reverse("accounts:login"), {"username": "operator@alpha-mcn.test", "password": "nope"})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()


@pytest.mark.django_db
def test_repeated_failed_logins_are_throttled(client, settings, world_a):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    url = reverse("accounts:login")
    for _ in range(3):
        client.post(url, {"username": "owner@alpha-mcn.test", "password": "wrong"})
    # Even the right password is refused while locked out.
    response = client.post(url, {"username": "owner@alpha-mcn.test", "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_user_in_two_agencies_picks_and_switches(client, world_a, world_b):
    from accounts.models import Membership

    user = UserFactory(email="both@example.cn")
    Membership.objects.create(user=user, agency=world_a.agency, role=Role.OPERATOR)
    Membership.objects.create(user=user, agency=world_b.agency, role=Role.AUDITOR)
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    assert world_a.agency.name in response.content.decode()
    assert world_b.agency.name in response.content.decode()
    assert client.get(f"/a/{world_b.agency.slug}/").status_code == 200
    # The start page now remembers the last agency; ?switch=1 shows the picker again.
    assert client.get("/")["Location"] == f"/a/{world_b.agency.slug}/"
    assert client.get("/?switch=1").status_code == 200


@pytest.mark.django_db
def test_password_reset_sends_a_link(client, world_a, mailoutbox):
    response = client.post(reverse("accounts:password_reset"), {"email": "owner@alpha-mcn.test"})
    assert response.status_code == 302
    assert len(mailoutbox) == 1
    assert "/accounts/reset/" in mailoutbox[0].body


@pytest.mark.django_db
def test_language_can_be_switched_to_english(client, world_a):
    client.force_login(world_a.user("owner"))
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    response = client.get(f"/a/{world_a.agency.slug}/members/")
    assert b"Members" in response.content
