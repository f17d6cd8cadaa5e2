"""The agency's time zone and language, for every place that shows a time or a date.

Times are stored in UTC; a person sees them in the agency's zone (Agency.time_zone):
- pages and the API: the agency-scoped base views activate the zone once the agency is known
  (`agency_zone_activate`), and `AgencyTimezoneMiddleware` resets it after every request, so a
  worker thread never carries one agency's zone into the next request;
- exports, messages, the ICS feed and Celery tasks (no request there) pass the agency's zone
  explicitly (`local_format`, `local_date`).
Dates are counted from the agency-local date: 22:30 UTC is already the next day in Shanghai.
"""

from datetime import date, datetime

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

DATE_TIME = "%Y-%m-%d %H:%M"
DATE = "%Y-%m-%d"


def agency_zone_activate(agency) -> None:
    """Show this agency's times for the rest of the request (reset by AgencyTimezoneMiddleware)."""
    timezone.activate(agency.tz)


def local_time(moment: datetime, agency) -> datetime:
    return timezone.localtime(moment, agency.tz)


def local_format(moment: datetime | None, agency, fmt: str = DATE_TIME) -> str:
    """A stored (aware) moment as people of this agency read it: "2026-10-15 18:00"."""
    if moment is None:
        return ""
    return local_time(moment, agency).strftime(fmt)


def local_date(agency, moment: datetime | None = None) -> date:
    """The agency-local date of a moment (now by default): deadlines count from this day."""
    return local_time(moment or timezone.now(), agency).date()


def zone_label(agency) -> str:
    """The zone as people name it: 北京时间 / Beijing time for China, else the zone's name
    with its current abbreviation (“Europe/Berlin, CET”)."""
    if agency.time_zone in ("Asia/Shanghai", "Asia/Chongqing", "Asia/Harbin", "PRC"):
        return _("Beijing time")
    abbreviation = timezone.localtime(timezone.now(), agency.tz).tzname() or ""
    if abbreviation and abbreviation[0] not in "+-" and abbreviation != agency.time_zone:
        return f"{agency.time_zone}, {abbreviation}"
    return agency.time_zone


def agency_language(agency) -> str:
    """The language of what the agency publishes to people outside a session (the ICS feed):
    the agency's chosen language if it has one, else the site's default (Chinese)."""
    codes = {code for code, _name in settings.LANGUAGES}
    for chosen in (getattr(agency, "language", ""), (agency.settings or {}).get("language", "")):
        if chosen in codes:
            return chosen
    return settings.LANGUAGE_CODE


def parse_local(value: str, agency) -> datetime:
    """A moment typed by a person ("2026-03-30T11:00" from a datetime-local field, or with a space,
    optionally with seconds or an explicit offset): without an offset it is the agency's local time.
    Raises ValueError for anything else."""
    moment = datetime.fromisoformat(value.strip().replace(" ", "T", 1))
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=agency.tz)
    return moment
