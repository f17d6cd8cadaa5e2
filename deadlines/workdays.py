"""Chinese working days (R3.1): official holidays off, 调休 make-up weekend days on.

Official data comes from the `chinesecalendar` package (and, later, from the editable
calendar table). A year without official data is *estimated* from weekends plus the
statutory holidays computed by rule (`holidays` package); every result that touched
such a year is flagged `provisional`.
"""

from datetime import date, datetime, time, timedelta
from functools import lru_cache

import chinese_calendar
import holidays as holidays_lib


def official_years() -> set[int]:
    years = {d.year for d in chinese_calendar.holidays}
    return years | {d.year for d in chinese_calendar.workdays if d.weekday() >= 5}


@lru_cache(maxsize=64)
def _estimated_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays_lib.country_holidays("CN", years=year).keys())


def is_working_day(day: date) -> tuple[bool, bool]:
    """(is it a working day, is the answer provisional)."""
    if day.year in _official_years_cached():
        return chinese_calendar.is_workday(day), False
    if day.weekday() >= 5:
        return False, True
    return day not in _estimated_holidays(day.year), True


@lru_cache(maxsize=1)
def _official_years_cached() -> frozenset[int]:
    return frozenset(official_years())


def add_working_days(*, start: date, days: int) -> tuple[date, bool]:
    """The Nth working day after `start` (start itself not counted), and whether provisional."""
    if days < 0:
        raise ValueError("days must be >= 0")
    current, counted, provisional = start, 0, False
    while counted < days:
        current += timedelta(days=1)
        working, guessed = is_working_day(current)
        provisional = provisional or guessed
        if working:
            counted += 1
    return current, provisional


def working_days_deadline(*, start: datetime, days: int, tz) -> tuple[datetime, bool]:
    """End of the Nth working day after `start`'s local date, as an aware datetime in `tz`."""
    local_start = start.astimezone(tz).date()
    due_day, provisional = add_working_days(start=local_start, days=days)
    return datetime.combine(due_day, time(23, 59, 59), tzinfo=tz), provisional
