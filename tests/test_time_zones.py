"""An agency set to Europe/Berlin sees Berlin times everywhere: pages, the API, exports, messages
(rendered by a worker, where no request sets a zone) and the ICS feed (tests/deadlines/test_ics_feed.py);
dates are counted from the agency-local date."""

import json
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from deadlines.models import Deadline
from notifications.models import OutboundMessage
from notifications.services.delivery import messages_deliver_due, render_message
from rulebook.consequences import consequences_preview
from tests.builders import make_task, only_item
from tests.deadlines.helpers import take_effect
from tests.factories import SubAccountFactory

pytestmark = pytest.mark.django_db
BERLIN, SHANGHAI = ZoneInfo("Europe/Berlin"), ZoneInfo("Asia/Shanghai")
EFFECTIVE = datetime(2030, 3, 4, 10, 0, tzinfo=BERLIN)  # 09:00 UTC, 17:00 in Shanghai


@pytest.fixture
def berlin(world_a):
    world_a.agency.time_zone = "Europe/Berlin"
    world_a.agency.save(update_fields=["time_zone"])
    return world_a


@pytest.fixture
def shut_in_berlin(berlin):
    account = SubAccountFactory(agency=berlin.agency, display_name="柏林号", owner_email="owner@example.com")
    with time_machine.travel(EFFECTIVE, tick=False):
        task = make_task(berlin, [account])
        take_effect(berlin.agency, only_item(task), EFFECTIVE)
    return berlin, task, account


def monitor_deadline(world, account) -> Deadline:
    with scope(agency=world.agency):
        return Deadline.objects.get(sub_account=account, kind="monitor_activity")


def test_pages_show_berlin_times_and_name_the_zone(shut_in_berlin, world_b):
    world, task, account = shut_in_berlin
    slug = world.agency.slug
    with time_machine.travel(EFFECTIVE, tick=False):
        client = world.client("operator")
        timeline = client.get(f"/a/{slug}/deadlines/tasks/{task.pk}/").content.decode()
        listing = client.get(f"/a/{slug}/deadlines/?q=柏林号").content.decode()
        response = client.get(f"/a/{slug}/deadlines/accounts/{account.pk}/")
        other = world_b.client("owner").get(f"/a/{world_b.agency.slug}/deadlines/").content.decode()
    # R8 72 hours after 10:00 Berlin: 2030-03-07 10:00 in Berlin (09:00 UTC, 17:00 in Shanghai).
    for page in (timeline, listing, response.content.decode()):
        assert "2030-03-07 10:00" in page, page
        for line in page.splitlines():
            assert "2030-03-07 17:00" not in line, line
        assert "Times: Europe/Berlin, CET" in page
    assert response["X-Agency-Time-Zone"] == "Europe/Berlin"
    assert "Times: Beijing time" in other  # another agency, default zone
    # Nothing of Berlin stays on the thread for the next request or the code after it.
    assert timezone.get_current_timezone_name() == settings.TIME_ZONE


def test_the_api_and_the_audit_export_carry_berlin_offsets(shut_in_berlin):
    world, task, account = shut_in_berlin
    slug = world.agency.slug
    deadline = monitor_deadline(world, account)
    body = world.client("operator").get(f"/api/v1/agencies/{slug}/deadlines/{deadline.pk}/").json()
    assert body["due_at"] == "2030-03-07T10:00:00+01:00"
    with time_machine.travel(datetime(2030, 7, 1, 12, 0, tzinfo=BERLIN), tick=False):
        client = world.client("legal")
        response = client.get(f"/a/{slug}/approvals/tasks/{task.pk}/audit/export.json")
        assert response.status_code == 200, (response.status_code, response.get("Location"))
        exported = json.loads(response.content)
        from_api = client.get(f"/api/v1/agencies/{slug}/shutdown-tasks/{task.pk}/audit/export/").json()
    assert exported["time_zone"] == "Europe/Berlin"
    assert exported["exported_at"] == "2030-07-01T12:00:00+02:00"  # summer time on the day of the export
    created = exported["events"][0]["created_at"]
    assert created == "2030-03-04T10:00:00+01:00", created
    assert from_api["events"] == exported["events"]


def test_a_message_rendered_by_a_worker_shows_berlin_time(shut_in_berlin):
    world, _task, account = shut_in_berlin
    deadline = monitor_deadline(world, account)
    assert timezone.get_current_timezone_name() == "Asia/Shanghai"  # a worker: the site's zone
    with scope(agency=world.agency):
        rows = list(
            OutboundMessage.objects.filter(ref=f"deadline:{deadline.pk}", channel="email").select_related(
                "agency"
            )
        )
    # Sent at 09:00 Berlin on the mornings before and of the due date.
    assert {"03-06 09:00", "03-07 09:00"} <= {
        m.send_after.astimezone(BERLIN).strftime("%m-%d %H:%M") for m in rows
    }
    _subject, body = render_message(rows[0])
    assert "2030-03-07 10:00" in body and "17:00" not in body
    with time_machine.travel(datetime(2030, 3, 7, 9, 1, tzinfo=BERLIN), tick=False):
        messages_deliver_due()
    sent = [m for m in mail.outbox if "柏林号" in m.body]
    assert len(sent) >= 3  # the catch-up, the day before and the morning of, to each member
    assert all("2030-03-07 10:00" in m.body and "17:00" not in m.body for m in sent)


def test_dates_count_from_the_agency_local_date(world_a, world_b):
    """22:30 UTC on 4 March is 06:30 on 5 March in Shanghai and 23:30 on 4 March in Berlin."""
    world_b.agency.time_zone = "Europe/Berlin"
    world_b.agency.save(update_fields=["time_zone"])
    moment = datetime(2030, 3, 4, 22, 30, tzinfo=ZoneInfo("UTC"))
    dues = {}
    for world in (world_a, world_b):
        account = SubAccountFactory(agency=world.agency, unwithdrawn_earnings=Decimal("5"))
        with scope(agency=world.agency):
            preview = {
                c.kind: c.due_at
                for c in consequences_preview(
                    agency=world.agency, sub_account=account, strategy="shutdown", effective_at=moment
                )
            }
        dues[world.agency.time_zone] = {k: v.astimezone(world.agency.tz) for k, v in preview.items()}
    shanghai, berlin = dues["Asia/Shanghai"], dues["Europe/Berlin"]
    # R2.1 30 days: counted from the local day, at the local time.
    assert shanghai["drafts_expire"].isoformat() == "2030-04-04T06:30:00+08:00"
    assert berlin["drafts_expire"].isoformat() == "2030-04-03T23:30:00+02:00"
    # R3.1 7 working days from the local date (5 March, a Tuesday, in Shanghai; 4 March in Berlin).
    assert shanghai["earnings_settlement"].date().isoformat() == "2030-03-14"
    assert berlin["earnings_settlement"].date().isoformat() == "2030-03-13"


def test_the_zone_is_reset_after_each_request(berlin, world_b):
    """Two agencies in turn on the same thread: each sees its own zone."""
    client_a, client_b = berlin.client("owner"), world_b.client("owner")
    for _ in range(2):
        assert client_a.get(f"/a/{berlin.agency.slug}/deadlines/")["X-Agency-Time-Zone"] == "Europe/Berlin"
        assert client_b.get(f"/a/{world_b.agency.slug}/deadlines/")["X-Agency-Time-Zone"] == "Asia/Shanghai"
        assert timezone.get_current_timezone_name() == settings.TIME_ZONE
    with scopes_disabled():
        assert OutboundMessage.objects.count() == 0


def test_an_invitation_email_gives_its_expiry_in_berlin_time(berlin, django_capture_on_commit_callbacks):
    from agency.services.members import invitation_create

    with (
        time_machine.travel(datetime(2030, 3, 4, 23, 30, tzinfo=BERLIN), tick=False),
        scope(agency=berlin.agency),
    ):
        with django_capture_on_commit_callbacks(execute=True):
            invitation, _raw = invitation_create(
                agency=berlin.agency, actor=berlin.user("owner"), email="new@example.com", role="operator"
            )
    expiry = timezone.localtime(invitation.expires_at, BERLIN).strftime("%Y-%m-%d %H:%M")
    assert expiry.endswith("23:30")
    (message,) = [m for m in mail.outbox if "new@example.com" in m.to]
    assert expiry in message.body
