"""Reminders are never silently skipped: a deadline due before 09:00 gets its same-day
reminder the evening before; a reminder whose time has passed while the deadline is still
ahead goes out at the next allowed time (SMS: after quiet hours), once."""

import pytest
import time_machine
from django_scopes import scope

from deadlines.models import Deadline
from notifications.models import OutboundMessage
from tests.factories import SubAccountFactory

from .helpers import at, make_item, take_effect

pytestmark = pytest.mark.django_db


def send_times(world, account, kind, channel):
    tz = world.agency.tz
    with scope(agency=world.agency):
        deadline = Deadline.objects.get(sub_account=account, kind=kind)
        rows = OutboundMessage.objects.filter(ref=f"deadline:{deadline.pk}", channel=channel,
                                              recipient_user=world.user("owner"))
        return sorted((m.send_after.astimezone(tz).strftime("%m-%d %H:%M"), m.params["days_before"]) for m in rows)


@time_machine.travel(at(2025, 6, 2, 7, 0), tick=False)
def test_a_deadline_due_before_nine_and_reminders_already_due(world_a):
    account = SubAccountFactory(agency=world_a.agency)
    take_effect(world_a.agency, make_item(world_a.agency, account), at(2025, 6, 2, 7, 0))
    # Activity monitoring ends 72 hours later, at 07:00 on 5 June (R8).
    # 7 days before has passed: it goes out now (once); 1 day before at 09:00 on the 4th;
    # the morning-of reminder would come after the deadline: the evening before instead.
    assert send_times(world_a, account, "monitor_activity", "email") == [
        ("06-02 07:00", 3), ("06-04 09:00", 1), ("06-04 18:00", 1)]
    # SMS: the catch-up reminder waits for the end of quiet hours (08:00).
    assert send_times(world_a, account, "monitor_activity", "sms")[0] == ("06-02 08:00", 3)
