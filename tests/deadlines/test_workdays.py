"""The working-day calendar: official data from the table, estimates for unknown years."""

from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command

from rulebook.calendar import calendar_day_set, calendar_import_notice, calendar_notice_parse
from rulebook.models import CalendarDay, CalendarYear
from rulebook.workdays import add_working_days, is_working_day, official_years

pytestmark = pytest.mark.django_db


def workdays(*args) -> str:
    out = StringIO()
    call_command("workdays", *args, stdout=out)
    return out.getvalue().strip()


def test_the_table_is_seeded_from_chinesecalendar():
    assert {2024, 2025, 2026} <= official_years()
    assert CalendarDay.objects.get(date=date(2025, 10, 1)).kind == "holiday"
    assert CalendarDay.objects.get(date=date(2025, 9, 28)).kind == "workday"  # a Sunday make-up day


def test_national_day_week_is_skipped_and_the_make_up_sunday_counts():
    # 2025: 1–8 October off; Sunday 28 September and Saturday 11 October are working days.
    assert add_working_days(start=date(2025, 9, 30), days=1) == (date(2025, 10, 9), False)
    assert add_working_days(start=date(2025, 9, 26), days=1) == (date(2025, 9, 28), False)
    assert add_working_days(start=date(2025, 10, 9), days=2) == (date(2025, 10, 11), False)


def test_a_year_without_official_data_is_estimated_and_flagged():
    due, provisional = add_working_days(start=date(2026, 12, 28), days=7)
    assert provisional is True
    assert due == date(2027, 1, 7)  # 29–31 Dec, 1 Jan 2027 is New Year (estimated), then 4–7 Jan
    assert is_working_day(date(2027, 10, 1)) == (False, True)


def test_management_command_prints_iso_date_and_provisional():
    assert workdays("add", "2025-09-30", "1") == "2025-10-09"
    assert workdays("add", "2026-12-28", "7") == "2027-01-07 provisional"


def test_management_command_rejects_a_bad_date():
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="not a date"):
        workdays("add", "2025-13-01", "1")


def test_an_operator_edit_changes_the_count_at_once():
    assert add_working_days(start=date(2025, 6, 9), days=1) == (date(2025, 6, 10), False)
    calendar_day_set(day=date(2025, 6, 10), kind="holiday", name="test")
    assert add_working_days(start=date(2025, 6, 9), days=1) == (date(2025, 6, 11), False)


NOTICE_2027 = """国务院办公厅关于2027年部分节假日安排的通知
一、元旦：1月1日（周五）至3日（周日）放假，共3天。
二、春节：2月6日（农历除夕、周六）至14日（农历正月初九、周日）放假调休，共9天。2月20日（周六）上班。
七、国庆节：10月1日（周五）至7日（周四）放假调休，共7天。9月26日（周日）、10月9日（周六）上班。
节假日期间，各地区、各部门要妥善安排好值班和安全、保卫等工作。
"""


def test_the_state_council_notice_is_parsed():
    holidays, workdays_ = calendar_notice_parse(text=NOTICE_2027, year=2027)
    assert date(2027, 1, 1) in holidays
    assert date(2027, 1, 3) in holidays
    assert date(2027, 2, 14) in holidays
    assert holidays[date(2027, 2, 14)] == "春节"
    assert set(workdays_) == {date(2027, 2, 20), date(2027, 9, 26), date(2027, 10, 9)}


def test_importing_the_notice_makes_the_year_official():
    calendar_import_notice(text=NOTICE_2027, year=2027)
    assert CalendarYear.objects.get(year=2027).source == "notice"
    assert add_working_days(start=date(2027, 9, 30), days=1) == (date(2027, 10, 8), False)
    assert is_working_day(date(2027, 9, 26)) == (True, False)


def test_a_notice_without_holidays_is_refused_with_a_reason():
    from agency.exceptions import DomainValidationError

    with pytest.raises(DomainValidationError, match="No holiday"):
        calendar_import_notice(text="hello", year=2027)
    assert not CalendarYear.objects.filter(year=2027).exists()


def test_plain_lines_are_accepted():
    holidays, workdays_ = calendar_notice_parse(
        text="2027-10-01..2027-10-03 holiday 国庆节\n2027-09-26 workday 调休", year=2027)
    assert len(holidays) == 3
    assert list(workdays_) == [date(2027, 9, 26)]
