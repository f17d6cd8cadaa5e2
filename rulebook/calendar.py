"""The working-day calendar table: seeding from chinesecalendar, the State Council notice
import, single-day overrides. Every change writes a new calendar version in its transaction
(every process reloads) and sends `rulebook.signals.calendar_updated` after commit.

Provenance: a year is official only when a complete source is loaded (`calendar_year_replace`:
the package's year or a whole notice). `calendar_day_set` stores an operator's override of one
day on top of the estimate or of the official data; loading a year replaces its official
rows and keeps the overrides."""

import re
from datetime import date, timedelta

import chinese_calendar
from django.db import transaction
from django.utils.translation import gettext as _

from agency.exceptions import DomainValidationError
from rulebook.models import CalendarDay, CalendarYear
from rulebook.signals import calendar_updated
from rulebook.workdays import calendar_changed

Source = CalendarYear.Source


def calendar_after_change(*, years: set[int], reason: str, dates: list[date] | None = None) -> None:
    """Every process sees the new calendar (version written in this transaction), and after
    commit the apps that store dates computed from it hear of it through `calendar_updated`,
    with the reason (a key of rulebook.signals.CALENDAR_CHANGE_REASONS) to show on timelines."""
    calendar_changed()
    if years:
        changed = frozenset(years)
        details = {"reason": reason, "years": sorted(changed), "dates": [d.isoformat() for d in dates or []]}
        transaction.on_commit(lambda: calendar_updated.send(sender=CalendarYear, years=changed, change=details))


def calendar_year_replace(*, year: int, holidays: dict[date, str], workdays: dict[date, str], source: str,
                          note: str = "") -> CalendarYear:
    """Make `year` official with exactly these holidays and make-up working days."""
    errors = [f"{d}" for d in list(holidays) + list(workdays) if d.year != year]
    if errors:
        raise DomainValidationError(_("Dates outside %(year)s: %(dates)s") % {"year": year, "dates": ", ".join(errors)})
    both = set(holidays) & set(workdays)
    if both:
        raise DomainValidationError(_("Dates both holiday and working day: %(dates)s")
                                    % {"dates": ", ".join(str(d) for d in sorted(both))})
    with transaction.atomic():
        # The year's official rows are replaced whole; operators' overrides stay on top.
        CalendarDay.objects.filter(date__year=year).exclude(source=Source.ADMIN).delete()
        CalendarDay.objects.bulk_create(
            [CalendarDay(date=d, kind=CalendarDay.Kind.HOLIDAY, name=n[:100], source=source) for d, n in holidays.items()]
            + [CalendarDay(date=d, kind=CalendarDay.Kind.WORKDAY, name=n[:100], source=source)
               for d, n in workdays.items()]
        )
        entry, _created = CalendarYear.objects.update_or_create(year=year, defaults={"source": source, "note": note})
        calendar_after_change(years={year}, reason="official_loaded")
    return entry


def calendar_seed_from_package(*, only_missing: bool = True) -> list[int]:
    """Load every year the chinesecalendar package knows (those not in the table yet, by default)."""
    holidays: dict[int, dict] = {}
    workdays: dict[int, dict] = {}
    for d, name in chinese_calendar.holidays.items():
        holidays.setdefault(d.year, {})[d] = str(name)
    for d, name in chinese_calendar.workdays.items():
        if d.weekday() >= 5:
            workdays.setdefault(d.year, {})[d] = str(name)
    known = set(CalendarYear.objects.values_list("year", flat=True))
    loaded = []
    for year in sorted(set(holidays) | set(workdays)):
        if only_missing and year in known:
            continue
        calendar_year_replace(year=year, holidays=holidays.get(year, {}), workdays=workdays.get(year, {}),
                              source=Source.PACKAGE, note="chinesecalendar")
        loaded.append(year)
    return loaded


def calendar_day_set(*, day: date, kind: str, name: str = "") -> CalendarDay:
    """A platform operator's override of one day (admin). It sits on top of the estimate or of
    the official data, is marked as an override (source admin), and survives a later sync or
    import. It never makes the year official: the year's other dates keep their estimate."""
    if kind not in CalendarDay.Kind.values:
        raise DomainValidationError(_("Kind must be holiday or workday."))
    with transaction.atomic():
        entry, _created = CalendarDay.objects.update_or_create(date=day, source=Source.ADMIN,
                                                               defaults={"kind": kind, "name": name})
        calendar_after_change(years={day.year}, reason="override_set", dates=[day])
    return entry


def calendar_day_clear(*, day: date) -> int:
    """Remove an operator's override: the day follows the official data (or the estimate) again."""
    with transaction.atomic():
        deleted, _rows = CalendarDay.objects.filter(date=day, source=Source.ADMIN).delete()
        if deleted:
            calendar_after_change(years={day.year}, reason="override_cleared", dates=[day])
    return deleted


def calendar_year_remove(*, year: int) -> int:
    """Drop a year's official data (admin): the year is estimated again; overrides stay."""
    with transaction.atomic():
        CalendarDay.objects.filter(date__year=year).exclude(source=Source.ADMIN).delete()
        deleted, _rows = CalendarYear.objects.filter(year=year).delete()
        calendar_after_change(years={year}, reason="official_removed")
    return deleted


# --- The State Council notice ----------------------------------------------------------------
# The yearly notice (国务院办公厅关于20XX年部分节假日安排的通知) lists one holiday per line:
#   一、元旦：1月1日（周五）放假1天，不调休。
#   二、春节：2月15日（农历腊月二十八、周日）至23日（农历正月初七、周一）放假调休，共9天。2月14日（周六）、2月28日（周六）上班。
# Also accepted, one per line: "2027-10-01 holiday 国庆节", "2027-10-01..2027-10-07 holiday 国庆节",
# "2027-09-26 workday 国庆节调休".
_ITEM = re.compile(r"^\s*[一二三四五六七八九十]+、\s*(?P<name>[^：:]+)[：:](?P<body>.+)$")
_RANGE = re.compile(
    r"(?:(?P<y1>\d{4})年)?(?P<m1>\d{1,2})月(?P<d1>\d{1,2})日(?:（[^）]*）)?"
    r"(?:至(?:(?P<y2>\d{4})年)?(?:(?P<m2>\d{1,2})月)?(?P<d2>\d{1,2})日(?:（[^）]*）)?)?"
)
_PLAIN = re.compile(r"^\s*(?P<a>\d{4}-\d{2}-\d{2})(?:\.\.(?P<b>\d{4}-\d{2}-\d{2}))?\s+(?P<kind>holiday|workday)"
                    r"(?:\s+(?P<name>.+))?$")


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _parse_dates(fragment: str, year: int, line_no: int) -> list[date]:
    out = []
    for m in _RANGE.finditer(fragment):
        y1 = int(m["y1"] or year)
        start = date(y1, int(m["m1"]), int(m["d1"]))
        if m["d2"]:
            y2 = int(m["y2"] or y1)
            end = date(y2, int(m["m2"] or m["m1"]), int(m["d2"]))
            if end < start:
                raise DomainValidationError(_("Line %(n)s: the range ends before it starts.") % {"n": line_no})
            out.extend(_days(start, end))
        else:
            out.append(start)
    return out


def calendar_notice_parse(*, text: str, year: int) -> tuple[dict[date, str], dict[date, str]]:
    """(holidays, make-up working days) of the notice text; errors name the line."""
    holidays: dict[date, str] = {}
    workdays: dict[date, str] = {}
    for line_no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        plain = _PLAIN.match(line)
        if plain:
            try:
                start = date.fromisoformat(plain["a"])
                end = date.fromisoformat(plain["b"]) if plain["b"] else start
            except ValueError as exc:
                raise DomainValidationError(_("Line %(n)s: %(e)s") % {"n": line_no, "e": exc}) from exc
            target = holidays if plain["kind"] == "holiday" else workdays
            for d in _days(start, end):
                target[d] = (plain["name"] or "").strip()
            continue
        item = _ITEM.match(line)
        if not item:
            continue  # the notice's preamble and closing paragraphs
        name, body = item["name"].strip(), item["body"]
        try:
            for sentence in re.split(r"[。；;]", body):
                if "放假" in sentence:
                    for d in _parse_dates(sentence.split("放假")[0], year, line_no):
                        holidays[d] = name
                elif "上班" in sentence:
                    for d in _parse_dates(sentence, year, line_no):
                        workdays[d] = name
        except ValueError as exc:
            raise DomainValidationError(_("Line %(n)s: %(e)s") % {"n": line_no, "e": exc}) from exc
    if not holidays:
        raise DomainValidationError(_("No holiday found in the notice: is it the State Council's text for %(y)s?")
                                    % {"y": year})
    # A holiday period names its first and last day; weekends inside it are off as well (already in range).
    return holidays, workdays


def calendar_import_notice(*, text: str, year: int) -> CalendarYear:
    holidays, workdays = calendar_notice_parse(text=text, year=year)
    # Weekend days between holiday ranges are off anyway; only the weekday holidays and
    # weekend make-up days change the count, but the whole notice is stored for display.
    return calendar_year_replace(year=year, holidays=holidays, workdays=workdays, source=Source.NOTICE,
                                 note=_("State Council notice"))
