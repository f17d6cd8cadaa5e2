"""Calendar provenance per day and per year, the version stamp in the database, and the
recount of everything computed from the calendar (issue 13, "The calendar")."""

import os
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django_scopes import scope, scopes_disabled

from deadlines.models import Deadline
from notifications.models import OutboundMessage
from rulebook.calendar import (
    calendar_day_clear,
    calendar_day_set,
    calendar_import_notice,
    calendar_year_remove,
)
from rulebook.models import CalendarDay, CalendarYear
from rulebook.workdays import add_working_days, is_working_day, official_years
from shutdown.models import TaskEvent, TaskItem
from tests.deadlines.helpers import at, make_item, take_effect
from tests.factories import SubAccountFactory

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def test_one_operator_edit_in_an_estimated_year_keeps_every_other_estimate():
    assert 2027 not in official_years()
    spring_festival = date(2027, 2, 8)  # a Monday inside the estimated Spring Festival
    assert is_working_day(spring_festival) == (False, True)
    calendar_day_set(day=date(2027, 5, 6), kind="holiday", name="operator")
    assert 2027 not in official_years()
    assert not CalendarYear.objects.filter(year=2027).exists()
    assert is_working_day(spring_festival) == (False, True)  # still an estimate, still a day off
    assert is_working_day(date(2027, 5, 6)) == (False, False)  # the edited day is what the operator said
    assert CalendarDay.objects.get(date=date(2027, 5, 6)).is_override
    # Counting across the year stays provisional.
    assert add_working_days(start=date(2027, 5, 5), days=1) == (date(2027, 5, 7), True)


def test_a_sync_loads_the_package_year_under_the_overrides_and_keeps_them():
    calendar_year_remove(year=2025)  # 2025 as if the package had not had it yet
    assert is_working_day(date(2025, 10, 1))[1] is True
    calendar_day_set(day=date(2025, 6, 10), kind="holiday", name="operator")
    assert call_command_out("workdays", "sync") == "loaded: 2025"
    assert 2025 in official_years()
    assert CalendarYear.objects.get(year=2025).source == "chinesecalendar"
    assert is_working_day(date(2025, 10, 1)) == (False, False)  # package data
    assert is_working_day(date(2025, 9, 28)) == (True, False)  # the package's make-up Sunday
    assert is_working_day(date(2025, 6, 10)) == (False, False)  # the override survived
    assert call_command_out("workdays", "sync") == "loaded: nothing new"


def test_an_override_on_an_official_day_survives_a_notice_import_and_can_be_removed():
    calendar_import_notice(text="2027-10-01..2027-10-07 holiday 国庆节", year=2027)
    calendar_day_set(day=date(2027, 10, 4), kind="workday", name="operator")
    assert is_working_day(date(2027, 10, 4)) == (True, False)
    calendar_import_notice(text="2027-10-01..2027-10-08 holiday 国庆节", year=2027)
    assert is_working_day(date(2027, 10, 4)) == (True, False)
    assert is_working_day(date(2027, 10, 8)) == (False, False)
    assert CalendarDay.objects.filter(date=date(2027, 10, 4)).count() == 2  # official row + override
    calendar_day_clear(day=date(2027, 10, 4))
    assert is_working_day(date(2027, 10, 4)) == (False, False)


def call_command_out(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip()


def test_the_workdays_docstring_example_is_true():
    from rulebook.management.commands import workdays

    assert "2026-09-30 7          -> 2026-10-15" in workdays.__doc__
    assert call_command_out("workdays", "add", "2026-09-30", "7") == "2026-10-15"


@time_machine.travel(at(2026, 12, 25, 10, 0), tick=False)
def test_an_override_recounts_deadlines_items_and_reminders_and_the_timeline_says_why(
        world_a, world_b, eager_celery, django_capture_on_commit_callbacks):
    agency = world_a.agency
    account = SubAccountFactory(agency=agency, unwithdrawn_earnings=Decimal("10"))
    take_effect(agency, make_item(agency, account), at(2026, 12, 25, 10, 0))
    # An item of another task still waiting to take effect: third-party, 3–5 working days.
    waiting_account = SubAccountFactory(agency=agency, kind="third_party")
    waiting = make_item(agency, waiting_account)
    with scopes_disabled():
        from rulebook.policy import policy_for
        from shutdown import rules

        estimate = rules.expected_effective(sub_account=waiting_account, policy=policy_for(agency),
                                            start=at(2026, 12, 29, 10, 0), tz=agency.tz)
        TaskItem.objects.filter(pk=waiting.pk).update(
            state="ready", expected_effective_at=estimate.earliest, expected_effective_latest_at=estimate.latest,
            expected_is_provisional=estimate.provisional, expected_from=estimate.start)
    assert estimate.earliest.date() == date(2027, 1, 4)  # 30, 31 Dec, (1 Jan estimated off), 4 Jan
    with scope(agency=agency):
        settlement = Deadline.objects.get(sub_account=account, kind="earnings_settlement")
        reminders = {m.pk: m.send_after for m in OutboundMessage.objects.filter(ref=f"deadline:{settlement.pk}",
                                                                                   status="pending")}
    assert settlement.due_at.astimezone(agency.tz).date() == date(2027, 1, 6) and settlement.provisional
    # A platform operator marks 4 January 2027 a day off (one day, not the whole year).
    with django_capture_on_commit_callbacks(execute=True):
        calendar_day_set(day=date(2027, 1, 4), kind="holiday", name="元旦")
    settlement.refresh_from_db()
    assert settlement.due_at.astimezone(agency.tz).date() == date(2027, 1, 7)
    assert settlement.provisional is True  # 2027 is still estimated apart from that day
    with scope(agency=agency):
        moved = OutboundMessage.objects.filter(pk__in=reminders)
        assert all(m.params["due_date"].startswith("2027-01-07") for m in moved)
        assert {m.send_after.date() for m in moved} != set(reminders.values())
    waiting.refresh_from_db()
    assert waiting.expected_effective_at.astimezone(agency.tz).date() == date(2027, 1, 5)
    assert waiting.expected_is_provisional is True
    with scopes_disabled():
        kinds = set(TaskEvent.objects.filter(agency=agency).values_list("kind", flat=True))
    assert {"deadline.recomputed", "item.expected_recomputed"} <= kinds
    # The account's timeline says the date changed, from what to what, and why.
    page = world_a.client().get(f"/a/{agency.slug}/deadlines/accounts/{account.pk}/")
    text = page.content.decode()
    assert "Date changed from 2027-01-06 23:59 to 2027-01-07 23:59" in text
    assert "a platform operator changed the calendar on 2027-01-04" in text


DRIVER = """
import sys
from datetime import date
from rulebook.workdays import add_working_days
for line in sys.stdin:
    if line.strip() == "quit":
        break
    print(add_working_days(start=date(2025, 6, 9), days=1)[0].isoformat(), flush=True)
"""


@pytest.mark.django_db(transaction=True)
def test_two_processes_see_a_calendar_change_at_once_without_redis(tmp_path):
    """A long-lived process (a worker) keeps its calendar in memory; another process (the web)
    edits the calendar; the worker's next count uses the new calendar. No Redis (locmem cache)."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'calendar.sqlite3'}", "TESTING": "1",
           "VAR_DIR": str(tmp_path / "var")}
    env.pop("REDIS_URL", None)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True, timeout=300)
    worker = subprocess.Popen([*manage, "shell", "-v", "0", "-c", DRIVER], cwd=ROOT, env=env, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        worker.stdin.write("count\n")
        worker.stdin.flush()
        assert worker.stdout.readline().strip() == "2025-06-10"
        subprocess.run([*manage, "shell", "-v", "0", "-c", "from datetime import date; from rulebook.calendar import "
                        "calendar_day_set; calendar_day_set(day=date(2025, 6, 10), kind='holiday')"],
                       cwd=ROOT, env=env, check=True, timeout=120)
        worker.stdin.write("count\n")
        worker.stdin.flush()
        assert worker.stdout.readline().strip() == "2025-06-11"
        worker.stdin.write("quit\n")
        worker.stdin.flush()
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
