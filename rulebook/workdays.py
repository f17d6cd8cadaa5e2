"""Chinese working days (R3.1): official holidays off, 调休 make-up weekend days on.

The official data lives in the calendar table (deadlines.models.CalendarYear /
CalendarDay), seeded from the `chinesecalendar` package by a data migration, edited by
platform operators in the admin, and extended by importing the State Council's yearly
notice. A year without official data is *estimated* from weekends plus the statutory
holidays computed by rule (`holidays` package); every result that touched such a year
is flagged `provisional` (and recomputed when the year gains data).

The table is small (a few dozen rows a year): each process keeps a snapshot in memory,
reloaded when the calendar version in the shared cache changes (every edit bumps it).
"""

import logging
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import chinese_calendar
import holidays as holidays_lib
from django.core.cache import cache
from django.db import DatabaseError, transaction

logger = logging.getLogger(__name__)

VERSION_KEY = "deadlines:calendar:version"


@dataclass(frozen=True)
class _Snapshot:
    version: str = ""
    years: frozenset = frozenset()
    days: dict = field(default_factory=dict)  # date -> is working


_snapshot = _Snapshot()


def _package_snapshot(version: str) -> _Snapshot:
    days = {d: False for d in chinese_calendar.holidays}
    days.update({d: True for d in chinese_calendar.workdays if d.weekday() >= 5})
    return _Snapshot(version=version, years=frozenset(d.year for d in days), days=days)


def _load(version: str) -> _Snapshot:
    from rulebook.models import CalendarDay, CalendarYear

    try:
        years = frozenset(CalendarYear.objects.values_list("year", flat=True))
        if not years:
            # An empty table (a database created without migrations): use the package itself.
            return _package_snapshot(version)
        days = {d: kind == CalendarDay.Kind.WORKDAY for d, kind in CalendarDay.objects.values_list("date", "kind")}
    except DatabaseError:
        logger.warning("calendar table unavailable: using the chinesecalendar package")
        return _package_snapshot(version)
    return _Snapshot(version=version, years=years, days=days)


def _current() -> _Snapshot:
    global _snapshot
    version = cache.get(VERSION_KEY)
    if version is None:
        version = uuid.uuid4().hex
        cache.add(VERSION_KEY, version, None)
        version = cache.get(VERSION_KEY) or version
    if _snapshot.version != version:
        _snapshot = _load(version)
    return _snapshot


def calendar_changed() -> None:
    """Every process reloads its snapshot: now (this connection sees its own writes) and after commit."""
    def bump():
        cache.set(VERSION_KEY, uuid.uuid4().hex, None)

    bump()
    transaction.on_commit(bump)


def official_years() -> set[int]:
    return set(_current().years)


@lru_cache(maxsize=64)
def _estimated_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays_lib.country_holidays("CN", years=year).keys())


def is_working_day(day: date) -> tuple[bool, bool]:
    """(is it a working day, is the answer provisional)."""
    snap = _current()
    if day.year in snap.years:
        if day in snap.days:
            return snap.days[day], False
        return day.weekday() < 5, False
    if day.weekday() >= 5:
        return False, True
    return day not in _estimated_holidays(day.year), True


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


def end_of_day(day: date, tz) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=tz)


def working_days_deadline(*, start: datetime, days: int, tz) -> tuple[datetime, bool]:
    """End of the Nth working day after `start`'s local date, as an aware datetime in `tz`."""
    local_start = start.astimezone(tz).date()
    due_day, provisional = add_working_days(start=local_start, days=days)
    return end_of_day(due_day, tz), provisional
