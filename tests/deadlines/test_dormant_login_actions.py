"""R5.1 from the outside: an operator records the monthly login of a dormant account on its
timeline page (a browser form) or through the API; the next month's deadline follows."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django_scopes import scope, scopes_disabled

from deadlines.models import Deadline
from deadlines.services.dormant import dormant_logins_roll_missed
from shutdown.models import TaskEvent
from tests.factories import SubAccountFactory

from .helpers import make_item, take_effect

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def browser(world, role="operator") -> Client:
    client = Client()
    client.force_login(world.user(role))
    return client


def dormant_account(world, when):
    account = SubAccountFactory(agency=world.agency, status="dormant", display_name="睡眠号")
    take_effect(world.agency, make_item(world.agency, account, strategy="dormant"), when)
    return account


def logins(world, account):
    with scope(agency=world.agency):
        return list(Deadline.objects.filter(sub_account=account, kind="dormant_login").order_by("due_at"))


def events(world, kind):
    with scopes_disabled():
        return list(TaskEvent.objects.filter(agency=world.agency, kind=kind))


@pytest.fixture
def berlin_world(world_a):
    world_a.agency.time_zone = "Europe/Berlin"
    world_a.agency.save(update_fields=["time_zone"])
    return world_a


def test_an_operator_records_the_login_on_the_timeline_page_in_the_agencys_time(berlin_world):
    world = berlin_world
    with time_machine.travel(berlin(2030, 3, 3, 10, 0), tick=False):
        account = dormant_account(world, berlin(2030, 3, 3, 10, 0))
    page_url = f"/a/{world.agency.slug}/deadlines/accounts/{account.pk}/"
    (first,) = logins(world, account)
    with time_machine.travel(berlin(2030, 3, 30, 12, 0), tick=False):
        page = browser(world).get(page_url).content.decode()
        assert "Record login" in page and "Europe/Berlin" in page
        assert "2030-04-03" in page  # the due date, in Berlin
        assert "Record login" not in browser(world, "auditor").get(page_url).content.decode()
        response = browser(world).post(
            f"/a/{world.agency.slug}/deadlines/dormant-logins/{first.pk}/",
            {"logged_in_at": "2030-03-30T11:00", "note": "扫码登录"},
            follow=True,
        )
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == page_url
    text = response.content.decode()
    assert "Login recorded for 睡眠号. The next login is due by 2030-04-30." in text
    done, following = logins(world, account)
    assert done.pk == first.pk and done.completed_at is not None
    assert done.data["login_at"] == "2030-03-30T11:00:00+02:00" or datetime.fromisoformat(
        done.data["login_at"]
    ) == berlin(2030, 3, 30, 11, 0)
    assert done.data["login_by"] == world.user("operator").email and done.data["login_note"] == "扫码登录"
    # Counted from the login, a month later, 11:00 Berlin time (summer time by then: +02:00).
    assert following.completed_at is None
    assert following.due_at.astimezone(BERLIN).isoformat() == "2030-04-30T11:00:00+02:00"
    (event,) = events(world, "deadline.dormant_login")
    assert event.actor_id == world.user("operator").pk and event.data["note"] == "扫码登录"
    # The timeline shows the done one and the next form.
    assert "done" in text and f"/dormant-logins/{following.pk}/" in text


def test_bad_input_on_the_page_changes_nothing_and_says_why(berlin_world):
    world = berlin_world
    with time_machine.travel(berlin(2030, 3, 3, 10, 0), tick=False):
        account = dormant_account(world, berlin(2030, 3, 3, 10, 0))
    (first,) = logins(world, account)
    url = f"/a/{world.agency.slug}/deadlines/dormant-logins/{first.pk}/"
    with time_machine.travel(berlin(2030, 3, 30, 12, 0), tick=False):
        cases = {
            "yesterday": "“yesterday” is not a date and time",
            "2030-04-02T09:00": "The login cannot be in the future.",
            "2030-03-01T09:00": "The login cannot be before the account went dormant (2030-03-03 10:00).",
        }
        for written, why in cases.items():
            response = browser(world).post(url, {"logged_in_at": written}, follow=True)
            assert why in response.content.decode(), written
        response = browser(world).post(url, {"note": "x" * 301}, follow=True)
        assert "Keep the note under 300 characters." in response.content.decode()
        assert [d.completed_at for d in logins(world, account)] == [None]
        assert browser(world, "auditor").post(url).status_code == 403
        # Done once; a second recording of the same deadline is refused.
        browser(world).post(url, {})
        response = browser(world).post(url, {}, follow=True)
        assert "already recorded or missed" in response.content.decode()
    assert len(logins(world, account)) == 2


def test_the_api_records_a_login_and_refuses_twice_and_other_deadlines(world_a):
    with time_machine.travel(datetime(2030, 3, 3, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")), tick=False):
        account = dormant_account(world_a, datetime(2030, 3, 3, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
        other = SubAccountFactory(agency=world_a.agency)
        take_effect(
            world_a.agency,
            make_item(world_a.agency, other),
            datetime(2030, 3, 3, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")),
        )
    (first,) = logins(world_a, account)
    base = f"/api/v1/agencies/{world_a.agency.slug}/deadlines/"
    with time_machine.travel(datetime(2030, 3, 28, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")), tick=False):
        client = world_a.client("operator")
        assert (
            world_a.client("auditor").post(f"{base}{first.pk}/dormant-login/", {}, format="json").status_code
            == 403
        )
        bad = client.post(
            f"{base}{first.pk}/dormant-login/", {"logged_in_at": "2031-01-01T09:00"}, format="json"
        )
        assert bad.status_code == 400 and "future" in str(bad.json())
        response = client.post(
            f"{base}{first.pk}/dormant-login/",
            {"logged_in_at": "2030-03-28T08:30", "note": "API"},
            format="json",
        )
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["done"]["id"] == first.pk and body["done"]["completed_at"]
        # A time without an offset is the agency's; answers carry the agency's offset.
        assert body["next"]["due_at"] == "2030-04-28T08:30:00+08:00"
        again = client.post(f"{base}{first.pk}/dormant-login/", {}, format="json")
        assert again.status_code == 409
        with scope(agency=world_a.agency):
            not_dormant = Deadline.objects.filter(sub_account=other).first()
        assert client.post(f"{base}{not_dormant.pk}/dormant-login/", {}, format="json").status_code == 404
    assert [d.completed_at is not None for d in logins(world_a, account)] == [True, False]


def test_a_missed_login_leads_to_the_next_one_and_says_so_on_the_audit_trail(world_a):
    shanghai = ZoneInfo("Asia/Shanghai")
    with time_machine.travel(datetime(2030, 3, 3, 10, 0, tzinfo=shanghai), tick=False):
        account = dormant_account(world_a, datetime(2030, 3, 3, 10, 0, tzinfo=shanghai))
    with time_machine.travel(datetime(2030, 4, 3, 11, 0, tzinfo=shanghai), tick=False):
        assert dormant_logins_roll_missed() == 1
    missed, following = logins(world_a, account)
    assert missed.data["missed"] is True and following.completed_at is None
    (event,) = events(world_a, "deadline.dormant_login_missed")
    assert datetime.fromisoformat(event.data["next_due_at"]) == following.due_at
    page = browser(world_a).get(f"/a/{world_a.agency.slug}/deadlines/accounts/{account.pk}/").content.decode()
    assert "missed" in page and f"/dormant-logins/{following.pk}/" in page


def test_another_agency_cannot_record_a_login_on_this_one(world_a, world_b):
    with time_machine.travel(datetime(2030, 3, 3, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")), tick=False):
        account = dormant_account(world_a, datetime(2030, 3, 3, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    (first,) = logins(world_a, account)
    for slug in (world_b.agency.slug, world_a.agency.slug):
        assert (
            browser(world_b, "owner").post(f"/a/{slug}/deadlines/dormant-logins/{first.pk}/").status_code
            == 404
        )
        response = world_b.client("owner").post(
            f"/api/v1/agencies/{slug}/deadlines/{first.pk}/dormant-login/", {}, format="json"
        )
        assert response.status_code == 404
    assert [d.completed_at for d in logins(world_a, account)] == [None]
    assert events(world_a, "deadline.dormant_login") == []
