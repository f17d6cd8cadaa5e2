"""Chinese working days (R3.1): official holidays off, 调休 make-up weekend days on.

The official data lives in the calendar table (rulebook.models.CalendarYear /
CalendarDay), seeded from the `chinesecalendar` package by a data migration, edited by
platform operators in the admin, and extended by importing the State Council's yearly
notice. A year without official data is *estimated* from weekends plus the statutory
holidays computed by rule (`holidays` package); every result that touched such a year
is flagged `provisional` (and recomputed when the year gains data).

The table is small (a few dozen rows a year): each process keeps a snapshot in memory and,
before every use, compares the calendar version token stored in the database
(rulebook.models.CalendarVersion, one indexed read) with its snapshot's; every calendar
change writes a new token in its own transaction. So a worker sees an import made by the
web process at once, with or without Redis. A loop that counts many dates can hold one
snapshot for its duration with `calendar_pinned()`.

Order of precedence for a date: an operator's override (source admin) > the year's official
data (years with a CalendarYear row) > the estimate (provisional).
"""

import contextlib
import logging
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import chinese_calendar
import holidays as holidays_lib
from django.db import DatabaseError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Snapshot:
    version: str = ""
    years: frozenset = frozenset()
    days: dict = field(default_factory=dict)  # date -> is working (official data)
    overrides: dict = field(default_factory=dict)  # date -> is working (operator's single-day edits)


_snapshot: _Snapshot | None = None
_pinned: ContextVar[_Snapshot | None] = ContextVar("calendar_pinned", default=None)


def _package_snapshot(version: str) -> _Snapshot:
    days = {d: False for d in chinese_calendar.holidays}
    days.update({d: True for d in chinese_calendar.workdays if d.weekday() >= 5})
    return _Snapshot(version=version, years=frozenset(d.year for d in days), days=days)


def _load(version: str) -> _Snapshot:
    from rulebook.models import CalendarDay, CalendarYear

    try:
        years = frozenset(CalendarYear.objects.values_list("year", flat=True))
        rows = list(CalendarDay.objects.values_list("date", "kind", "source"))
    except DatabaseError:
        logger.warning("calendar table unavailable: using the chinesecalendar package")
        return _package_snapshot(version)
    if not years and not rows:
        # An empty table (a database created without migrations): use the package itself.
        return _package_snapshot(version)
    days, overrides = {}, {}
    for d, kind, source in rows:
        (overrides if source == CalendarYear.Source.ADMIN else days)[d] = kind == CalendarDay.Kind.WORKDAY
    return _Snapshot(version=version, years=years, days=days, overrides=overrides)


def calendar_version() -> str:
    """The calendar version token stored in the database ("" when there is none)."""
    from rulebook.models import CalendarVersion

    try:
        return CalendarVersion.objects.order_by("pk").values_list("token", flat=True).first() or ""
    except DatabaseError:
        return "unavailable"


def _current() -> _Snapshot:
    global _snapshot
    pinned = _pinned.get()
    if pinned is not None:
        return pinned
    version = calendar_version()
    snap = _snapshot
    if snap is None or snap.version != version:
        snap = _snapshot = _load(version)
    return snap


@contextlib.contextmanager
def calendar_pinned():
    """Count many dates on one snapshot (one version check for the whole block)."""
    if _pinned.get() is not None:
        yield _pinned.get()
        return
    token = _pinned.set(_current())
    try:
        yield _pinned.get()
    finally:
        _pinned.reset(token)


def calendar_changed() -> None:
    """Write a new version token in the caller's transaction: this process reloads at once (it
    sees its own writes), every other process as soon as the transaction commits."""
    from rulebook.models import CalendarVersion

    global _snapshot
    token = uuid.uuid4().hex
    if not CalendarVersion.objects.update(token=token):
        CalendarVersion.objects.create(token=token)
    _snapshot = None


def official_years() -> set[int]:
    return set(_current().years)


@lru_cache(maxsize=64)
def _estimated_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays_lib.country_holidays("CN", years=year).keys())


def is_working_day(day: date) -> tuple[bool, bool]:
    """(is it a working day, is the answer provisional)."""
    return _is_working_day(_current(), day)


def _is_working_day(snap: _Snapshot, day: date) -> tuple[bool, bool]:
    if day in snap.overrides:
        return snap.overrides[day], False
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
    snap = _current()
    current, counted, provisional = start, 0, False
    while counted < days:
        current += timedelta(days=1)
        working, guessed = _is_working_day(snap, current)
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
