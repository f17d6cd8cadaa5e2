"""R5.1: dormant mode needs a login every month for as long as the account stays dormant."""

import pytest
import time_machine
from django_scopes import scope

from agency.models import SubAccount
from deadlines.models import Deadline
from deadlines.services.dormant import dormant_login_record, dormant_logins_roll_missed
from tests.factories import SubAccountFactory

from .helpers import at, make_item, take_effect

pytestmark = pytest.mark.django_db


def dormant_deadlines(world, account):
    tz = world.agency.tz
    with scope(agency=world.agency):
        return [(d.due_at.astimezone(tz).date().isoformat(), d.completed_at is not None, d.data.get("missed", False))
                for d in Deadline.objects.filter(sub_account=account, kind="dormant_login").order_by("due_at")]


def test_a_recorded_login_and_a_missed_one_each_create_the_next_months_deadline(world_a):
    account = SubAccountFactory(agency=world_a.agency, status="dormant")
    with time_machine.travel(at(2025, 3, 3, 10, 0), tick=False):
        take_effect(world_a.agency, make_item(world_a.agency, account, strategy="dormant"), at(2025, 3, 3, 10, 0))
    assert dormant_deadlines(world_a, account) == [("2025-04-03", False, False)]
    with time_machine.travel(at(2025, 3, 30, 11, 0), tick=False), scope(agency=world_a.agency):
        first = Deadline.objects.get(sub_account=account, kind="dormant_login")
        dormant_login_record(agency=world_a.agency, deadline_id=first.pk, user=world_a.user("operator"))
    assert dormant_deadlines(world_a, account) == [("2025-04-03", True, False), ("2025-04-30", False, False)]
    with time_machine.travel(at(2025, 5, 1, 10, 0), tick=False):
        assert dormant_logins_roll_missed() == 1  # nobody logged in by 30 April
    assert dormant_deadlines(world_a, account)[-2:] == [("2025-04-30", True, True), ("2025-05-30", False, False)]
    # Once the account is no longer dormant, no further login is required.
    with scope(agency=world_a.agency):
        SubAccount.objects.filter(pk=account.pk).update(status="active")
    with time_machine.travel(at(2025, 6, 1, 10, 0), tick=False):
        assert dormant_logins_roll_missed() == 1
    assert dormant_deadlines(world_a, account)[-1] == ("2025-05-30", True, True)
