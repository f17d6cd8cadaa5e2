"""The ICS feed as a calendar app reads it: parsed with the icalendar library."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django_scopes import scope, scopes_disabled
from icalendar import Calendar

from deadlines.models import CalendarFeed, Deadline
from deadlines.services.feed import calendar_feed_rotate
from tests.builders import make_task, only_item
from tests.factories import SubAccountFactory

from .helpers import BARE_TASK, at, take_effect

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")


def feed_url(agency) -> str:
    with scope(agency=agency):
        return f"/calendar/{calendar_feed_rotate(agency=agency).token}.ics"


def parse(response) -> Calendar:
    assert response.status_code == 200, response.content[:300]
    return Calendar.from_ical(response.content)


def events_by_uid(cal: Calendar) -> dict:
    return {str(e["UID"]): e for e in cal.walk("VEVENT")}


def summary_of(cal: Calendar, text: str):
    return next(e for e in cal.walk("VEVENT") if text in str(e["SUMMARY"]))


def test_events_at_the_due_time_in_the_agencys_zone_with_its_vtimezone_and_an_alarm(world_a, client):
    world_a.agency.time_zone = "Europe/Berlin"
    world_a.agency.save(update_fields=["time_zone"])
    account = SubAccountFactory(agency=world_a.agency, display_name="小鹿", unwithdrawn_earnings=Decimal("5"))
    effective = datetime(2030, 3, 4, 10, 0, tzinfo=BERLIN)
    with time_machine.travel(effective, tick=False):
        take_effect(world_a.agency, only_item(make_task(world_a, [account], **BARE_TASK)), effective)
        cal = parse(client.get(feed_url(world_a.agency)))
    zones = [str(z["TZID"]) for z in cal.walk("VTIMEZONE")]
    assert zones == ["Europe/Berlin"]  # one per zone used, and the zone used is the agency's
    assert {c.name for c in cal.walk("VTIMEZONE")[0].subcomponents} == {"STANDARD", "DAYLIGHT"}
    assert str(cal["X-WR-TIMEZONE"]) == "Europe/Berlin"
    # R8 72 hours: a timed event at the due time, in Berlin time (TZID on the property).
    monitor = summary_of(cal, "Activity monitoring")
    start = monitor["DTSTART"]
    assert start.params["TZID"] == "Europe/Berlin"
    assert start.dt == datetime(2030, 3, 7, 10, 0, tzinfo=BERLIN)
    assert start.dt.utcoffset() == timedelta(hours=1)
    assert "DTSTART;TZID=Europe/Berlin:20300307T100000" in cal.to_ical().decode()
    # A reminder one day before.
    (alarm,) = monitor.walk("VALARM")
    assert alarm["ACTION"] == "DISPLAY" and alarm["TRIGGER"].dt == timedelta(days=-1)
    # R3.1 is counted in working days to the end of a day: only the date matters → all-day.
    settlement = summary_of(cal, "earnings settled")
    assert type(settlement["DTSTART"].dt) is date and type(settlement["DTEND"].dt) is date
    assert settlement["DTEND"].dt - settlement["DTSTART"].dt == timedelta(days=1)
    (alarm,) = settlement.walk("VALARM")
    assert alarm["TRIGGER"].dt == -timedelta(hours=15)  # 09:00 the day before
    # Every event has one alarm and a stable UID.
    for event in cal.walk("VEVENT"):
        assert len(event.walk("VALARM")) == 1
        assert str(event["UID"]).startswith("deadline-") and str(event["UID"]).endswith("mcn-shutdown")
        assert int(event["SEQUENCE"]) == 0


@time_machine.travel(at(2026, 12, 25, 10, 0), tick=False)
def test_a_provisional_date_says_so_and_a_recount_raises_the_sequence_of_the_same_uid(
    world_a, client, eager_celery, django_capture_on_commit_callbacks
):
    from rulebook.calendar import calendar_import_notice

    account = SubAccountFactory(
        agency=world_a.agency, display_name="小鹿", unwithdrawn_earnings=Decimal("10")
    )
    take_effect(
        world_a.agency, only_item(make_task(world_a, [account], **BARE_TASK)), at(2026, 12, 25, 10, 0)
    )
    url = feed_url(world_a.agency)
    with scopes_disabled():
        settlement = Deadline.objects.get(sub_account=account, kind="earnings_settlement")
    uid = f"deadline-{settlement.pk}@{world_a.agency.slug}.mcn-shutdown"
    feed = parse(client.get(url))
    assert [str(z["TZID"]) for z in feed.walk("VTIMEZONE")] == ["Asia/Shanghai"]
    before = events_by_uid(feed)
    event = before[uid]
    assert str(event["SUMMARY"]).endswith(" (provisional)")  # counted across 2027: no official data yet
    assert event["DTSTART"].dt == date(2027, 1, 6) and int(event["SEQUENCE"]) == 0
    assert not any("provisional" in str(e["SUMMARY"]) for u, e in before.items() if u != uid)

    with django_capture_on_commit_callbacks(execute=True):
        calendar_import_notice(text="2027-01-01..2027-01-04 holiday 元旦", year=2027)
    after = events_by_uid(parse(client.get(url)))
    assert set(after) == set(before)  # same UIDs: the app replaces its events
    event = after[uid]
    assert event["DTSTART"].dt == date(2027, 1, 7)
    assert int(event["SEQUENCE"]) == 1
    assert "provisional" not in str(event["SUMMARY"])
    assert {int(e["SEQUENCE"]) for u, e in after.items() if u != uid} == {0}  # the others did not move


def test_the_feed_speaks_the_agencys_language_not_the_subscribers_and_answers_head(world_a, client):
    account = SubAccountFactory(
        agency=world_a.agency, display_name="小鹿", unwithdrawn_earnings=Decimal("10")
    )
    with time_machine.travel(at(2026, 12, 25, 10, 0), tick=False):
        take_effect(
            world_a.agency, only_item(make_task(world_a, [account], **BARE_TASK)), at(2026, 12, 25, 10, 0)
        )
        url = feed_url(world_a.agency)
        world_a.agency.settings = {**world_a.agency.settings, "language": "zh-hans"}
        world_a.agency.save(update_fields=["settings"])
        english_app = parse(client.get(url, HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9"))
        head = client.head(url, HTTP_ACCEPT_LANGUAGE="en")
        world_a.agency.settings = {**world_a.agency.settings, "language": "en"}
        world_a.agency.save(update_fields=["settings"])
        english_agency = parse(client.get(url, HTTP_ACCEPT_LANGUAGE="zh-CN"))
    summaries = [str(e["SUMMARY"]) for e in english_app.walk("VEVENT")]
    assert any("收益" in s and s.endswith("（预计）") for s in summaries)  # Chinese, as the agency
    assert "Deadlines" not in str(english_app["X-WR-CALNAME"])
    assert head.status_code == 200 and head["Content-Type"].startswith("text/calendar")
    assert head.content == b""
    summaries = [str(e["SUMMARY"]) for e in english_agency.walk("VEVENT")]
    assert any("earnings" in s and s.endswith(" (provisional)") for s in summaries)
    assert client.post(url).status_code == 405


def test_a_done_dormant_login_leaves_the_feed_and_the_next_one_is_an_all_day_event(world_a, client):
    from deadlines.services.dormant import dormant_login_record
    from tests.deadlines.helpers import make_item

    account = SubAccountFactory(agency=world_a.agency, status="dormant", display_name="睡眠号")
    with time_machine.travel(at(2030, 3, 3, 10, 0), tick=False):
        take_effect(
            world_a.agency, make_item(world_a.agency, account, strategy="dormant"), at(2030, 3, 3, 10, 0)
        )
        url = feed_url(world_a.agency)
        with scope(agency=world_a.agency):
            first = Deadline.objects.get(sub_account=account, kind="dormant_login")
            dormant_login_record(agency=world_a.agency, deadline_id=first.pk, user=world_a.user("operator"))
        cal = parse(client.get(url))
    (event,) = [e for e in cal.walk("VEVENT") if "睡眠号" in str(e["SUMMARY"])]
    assert event["DTSTART"].dt == date(2030, 4, 3)
    with scopes_disabled():
        assert CalendarFeed.objects.filter(agency=world_a.agency).count() == 1
