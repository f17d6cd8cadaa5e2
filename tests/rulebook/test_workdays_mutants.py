"""Working-day rules that surviving mutants showed unguarded (issue 20, sample of 40).

What a user would notice: a list of deadlines counted half with the old calendar and half with
the new one, working days that stop being answered while the calendar table cannot be read, an
operator's calendar edits lost when no year is official any more.
"""

from datetime import date
from unittest import mock

import pytest
from django.db import DatabaseError

from rulebook import workdays
from rulebook.calendar import calendar_day_set
from rulebook.models import CalendarDay, CalendarVersion, CalendarYear
from rulebook.workdays import add_working_days, calendar_pinned, is_working_day

pytestmark = pytest.mark.django_db

FRI, MON = date(2040, 3, 9), date(2040, 3, 12)  # 2040: no official data, estimated


def _written_by_another_process(day, kind=CalendarDay.Kind.HOLIDAY):
    """An override and a new version token written by another process (this one's memory untouched)."""
    CalendarDay.objects.create(date=day, kind=kind, source=CalendarYear.Source.ADMIN)
    if not CalendarVersion.objects.update(token=f"elsewhere-{day}"):
        CalendarVersion.objects.create(token=f"elsewhere-{day}")


def test_a_pinned_count_uses_one_calendar_until_its_end():
    """Deadlines counted in one go (a page of rows, a recount) use one calendar: a change made
    meanwhile by another process is seen by the next count, not half-way through this one."""
    with calendar_pinned():
        assert add_working_days(start=date(2040, 3, 8), days=1) == (FRI, True)
        _written_by_another_process(FRI)
        assert add_working_days(start=date(2040, 3, 8), days=1) == (FRI, True)
        assert is_working_day(FRI) == (True, True)
        with calendar_pinned():  # a nested count (a helper that pins too) sees the same calendar
            assert is_working_day(FRI) == (True, True)
        assert is_working_day(FRI) == (True, True)  # still pinned after the nested block
    assert is_working_day(FRI) == (False, False)  # the next count sees the change
    assert add_working_days(start=date(2040, 3, 8), days=1) == (MON, True)


def test_the_calendar_still_answers_when_its_table_cannot_be_read():
    """The calendar table unreadable (a failing query, a migration under way): working days come
    from the chinesecalendar package instead of an error on every page with a deadline."""
    workdays.calendar_changed()  # this process must read the table again
    with mock.patch.object(CalendarYear.objects, "values_list", side_effect=DatabaseError("no such table")):
        assert is_working_day(date(2025, 10, 1)) == (False, False)  # National Day
        assert is_working_day(date(2025, 10, 11)) == (True, False)  # its make-up Saturday
        assert add_working_days(start=date(2025, 9, 30), days=1) == (date(2025, 10, 9), False)


def test_the_calendar_still_answers_when_its_version_cannot_be_read():
    calendar_day_set(day=FRI, kind=CalendarDay.Kind.HOLIDAY)
    with mock.patch.object(CalendarVersion.objects, "order_by", side_effect=DatabaseError("no such table")):
        assert is_working_day(FRI) == (False, False)
        assert is_working_day(date(2025, 10, 1)) == (False, False)


def test_with_no_official_year_left_the_calendar_is_estimated_and_keeps_the_operators_edits():
    """Every official year removed (the operator's edits stay): the dates are estimated again
    with the edits on top, not silently official again from the package without them."""
    calendar_day_set(day=FRI, kind=CalendarDay.Kind.HOLIDAY)
    CalendarDay.objects.exclude(source=CalendarYear.Source.ADMIN).delete()
    CalendarYear.objects.all().delete()
    workdays.calendar_changed()
    assert workdays.official_years() == set()
    assert is_working_day(FRI) == (False, False)  # the operator's edit
    assert is_working_day(date(2025, 10, 1)) == (False, True)  # National Day, by the statutory rule
    assert is_working_day(date(2025, 10, 11)) == (False, True)  # an estimated Saturday: no make-up day known
