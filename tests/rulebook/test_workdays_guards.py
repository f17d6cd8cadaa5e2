"""Working-day rules that once broke with every test green (issue 20: surviving mutants).

What a user would notice: a deadline one day off (a Friday counted as weekend), a deadline
computed from a stale calendar in another process, a calendar that falls back to estimates.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from rulebook import workdays
from rulebook.calendar import calendar_day_set
from rulebook.models import CalendarDay, CalendarVersion, CalendarYear
from rulebook.workdays import add_working_days, is_working_day, working_days_deadline

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
# 2040 has no official data (the chinesecalendar package stops years earlier): it is estimated.
THU, FRI, SAT, SUN, MON = (date(2040, 3, d) for d in (8, 9, 10, 11, 12))


def test_in_a_year_without_official_data_friday_is_a_working_day_and_the_weekend_is_not():
    assert 2040 not in workdays.official_years()
    assert is_working_day(FRI) == (True, True)  # provisional, but a working day
    assert is_working_day(SAT) == (False, True)
    assert is_working_day(SUN) == (False, True)
    assert add_working_days(start=THU, days=1) == (FRI, True)
    assert add_working_days(start=THU, days=2) == (MON, True)
    deadline, provisional = working_days_deadline(start=datetime(2040, 3, 8, 9, 0, tzinfo=SH), days=1, tz=SH)
    assert deadline == datetime(2040, 3, 9, 23, 59, 59, tzinfo=SH) and provisional


def test_an_estimated_statutory_holiday_is_a_day_off():
    # 1–2 May 2040 (Tue–Wed): off by the statutory rule, provisional; Thursday works.
    assert is_working_day(date(2040, 5, 1)) == (False, True)
    assert is_working_day(date(2040, 5, 3)) == (True, True)


def test_zero_days_is_the_start_itself_and_negative_days_are_refused():
    assert add_working_days(start=THU, days=0) == (THU, False)
    with pytest.raises(ValueError, match=">= 0"):
        add_working_days(start=THU, days=-1)


def test_official_data_is_not_provisional_and_weekdays_without_rows_work():
    assert is_working_day(date(2025, 10, 9)) == (True, False)  # an ordinary Thursday in an official year
    assert is_working_day(date(2025, 10, 10)) == (True, False)  # an ordinary Friday
    assert is_working_day(date(2025, 10, 11)) == (True, False)  # make-up Saturday
    assert is_working_day(date(2025, 10, 12)) == (False, False)  # an ordinary Sunday


def test_an_empty_calendar_table_falls_back_to_the_package_not_to_estimates():
    CalendarDay.objects.all().delete()
    CalendarYear.objects.all().delete()
    workdays.calendar_changed()
    # National Day 2024 and its make-up Sunday, straight from the chinesecalendar package.
    assert is_working_day(date(2024, 10, 1)) == (False, False)
    assert is_working_day(date(2024, 9, 29)) == (True, False)
    assert is_working_day(date(2024, 10, 12)) == (True, False)  # and its make-up Saturday
    assert 2024 in workdays.official_years()


def test_another_process_sees_a_calendar_change_through_the_version():
    day = date(2040, 3, 9)  # an estimated Friday
    assert is_working_day(day) == (True, True)
    other_process_snapshot = workdays._snapshot  # what another worker holds in memory
    before = CalendarVersion.objects.values_list("token", flat=True).first()
    calendar_day_set(day=day, kind=CalendarDay.Kind.HOLIDAY, name="临时停工")
    assert CalendarVersion.objects.values_list("token", flat=True).first() != before
    workdays._snapshot = other_process_snapshot  # that worker never ran calendar_day_set itself
    assert is_working_day(day) == (False, False)  # …yet it reloads: the version changed


def test_a_calendar_written_elsewhere_is_read_again_once_the_version_changes():
    day = date(2040, 3, 12)  # an estimated Monday
    assert is_working_day(day) == (True, True)
    # Another process writes an override and a new version (this process's snapshot is untouched).
    CalendarDay.objects.create(date=day, kind=CalendarDay.Kind.HOLIDAY, source=CalendarYear.Source.ADMIN)
    if not CalendarVersion.objects.update(token="written-elsewhere"):
        CalendarVersion.objects.create(token="written-elsewhere")
    assert is_working_day(day) == (False, False)


def test_the_first_calendar_change_writes_a_version_once():
    CalendarVersion.objects.all().delete()
    calendar_day_set(day=date(2040, 3, 9), kind=CalendarDay.Kind.HOLIDAY)
    first = list(CalendarVersion.objects.values_list("token", flat=True))
    assert len(first) == 1 and first[0]
    calendar_day_set(day=date(2040, 3, 12), kind=CalendarDay.Kind.HOLIDAY)
    second = list(CalendarVersion.objects.values_list("token", flat=True))
    assert len(second) == 1 and second != first
