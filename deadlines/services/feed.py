"""The agency's ICS feed: a secret URL that calendar apps subscribe to.

What a calendar app gets (RFC 5545):
- one VTIMEZONE for each zone the events use (the agency's zone), events in that zone;
- an event at the due time, or an all-day event where only the date matters (a deadline counted
  in working days ends with the day; the monthly dormant login may happen any time that day);
- a reminder (VALARM) one day before: 24 hours before a timed event, 09:00 the day before an
  all-day one;
- "（预计）" / "(provisional)" in the title of a date counted on an estimated calendar year;
- a stable UID per deadline, with SEQUENCE raised each time a recount moves the date, so the
  app replaces the event instead of showing the old date next to the new one;
- the text in the agency's language, whatever the subscribing app asks for.
"""

from datetime import time, timedelta

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from agency.timezones import agency_language
from deadlines.models import CalendarFeed, Deadline, DeadlineKind
from rulebook.policy import ICS_DAYS_AHEAD

# Kinds whose time of day means nothing to the people doing them: shown as all-day events.
DATE_ONLY_KINDS = frozenset({DeadlineKind.DORMANT_LOGIN})
ALARM_BEFORE_TIMED = timedelta(days=1)
ALARM_BEFORE_ALL_DAY = timedelta(hours=15)  # 09:00 the day before
DAY_END = time(23, 59, 59)


def calendar_feed_get(*, agency) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(agency=agency).first()


def calendar_feed_rotate(*, agency) -> CalendarFeed:
    """Create the feed, or replace its secret (old subscriptions stop working)."""
    with transaction.atomic():
        CalendarFeed.objects.filter(agency=agency).delete()
        return CalendarFeed.objects.create(agency=agency)


def is_all_day(deadline: Deadline, tz) -> bool:
    """Only the date matters: counted to the end of a (working) day, or a kind done any time that day."""
    return deadline.kind in DATE_ONLY_KINDS or deadline.due_at.astimezone(tz).time() >= DAY_END


def event_summary(deadline: Deadline) -> str:
    summary = f"{deadline.sub_account.display_name}: {_(deadline.label)}"
    if deadline.provisional:
        summary = _("%(what)s (provisional)") % {"what": summary}
    return summary


def _event(deadline: Deadline, *, agency, tz, now):
    from icalendar import Alarm, Event

    event = Event()
    event.add("uid", f"deadline-{deadline.pk}@{agency.slug}.mcn-shutdown")
    event.add("sequence", deadline.sequence)
    summary = event_summary(deadline)
    event.add("summary", summary)
    local_due = deadline.due_at.astimezone(tz)
    if is_all_day(deadline, tz):
        event.add("dtstart", local_due.date())
        event.add("dtend", local_due.date() + timedelta(days=1))
        event.add("transp", "TRANSPARENT")
        before = ALARM_BEFORE_ALL_DAY
    else:
        event.add("dtstart", local_due)
        event.add("dtend", local_due + timedelta(minutes=30))
        before = ALARM_BEFORE_TIMED
    event.add("dtstamp", now)
    event.add("last-modified", deadline.updated_at)
    note = _(deadline.note) if deadline.note else ""
    event.add("description", " · ".join(part for part in (deadline.rule, note) if part))
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", summary)
    alarm.add("trigger", -before)
    event.add_component(alarm)
    return event


def calendar_feed_ics(*, agency, now=None) -> bytes:
    """The feed's body, in the agency's language and zone (never the subscriber's)."""
    from icalendar import Calendar, Timezone

    now = now or timezone.now()
    tz = agency.tz
    with translation.override(agency_language(agency)):
        cal = Calendar()
        cal.add("prodid", "-//MCN Shutdown//deadlines//EN")
        cal.add("version", "2.0")
        cal.add("calscale", "GREGORIAN")
        cal.add("method", "PUBLISH")
        cal.add("x-wr-calname", f"{agency.name} · {_('Deadlines')}")
        cal.add("x-wr-timezone", agency.time_zone)
        deadlines = (
            Deadline.objects.filter(
                agency=agency,
                completed_at__isnull=True,
                due_at__gte=now - timedelta(days=7),
                due_at__lte=now + timedelta(days=ICS_DAYS_AHEAD),
            )
            .select_related("sub_account")
            .order_by("due_at", "id")
        )
        events = [_event(d, agency=agency, tz=tz, now=now) for d in deadlines.iterator(chunk_size=500)]
        # The agency's zone first (its VTIMEZONE covers the feed's window), then any other zone used.
        cal.add_component(
            Timezone.from_tzid(
                agency.time_zone,
                first_date=(now - timedelta(days=400)).date(),
                last_date=(now + timedelta(days=ICS_DAYS_AHEAD + 400)).date(),
            )
        )
        for event in events:
            cal.add_component(event)
        cal.add_missing_timezones()
        return cal.to_ical()
