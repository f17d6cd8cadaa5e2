"""The agency's ICS feed: a secret URL that calendar apps subscribe to."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from deadlines.models import CalendarFeed, Deadline
from rulebook.policy import ICS_DAYS_AHEAD


def calendar_feed_get(*, agency) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(agency=agency).first()


def calendar_feed_rotate(*, agency) -> CalendarFeed:
    """Create the feed, or replace its secret (old subscriptions stop working)."""
    with transaction.atomic():
        CalendarFeed.objects.filter(agency=agency).delete()
        return CalendarFeed.objects.create(agency=agency)


def calendar_feed_ics(*, agency, now=None) -> bytes:
    from icalendar import Calendar, Event

    now = now or timezone.now()
    cal = Calendar()
    cal.add("prodid", "-//MCN Shutdown//deadlines//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"{agency.name} · {_('Deadlines')}")
    cal.add("x-wr-timezone", agency.time_zone)
    deadlines = (Deadline.objects.filter(agency=agency, due_at__gte=now - timedelta(days=7),
                                         due_at__lte=now + timedelta(days=ICS_DAYS_AHEAD))
                 .select_related("sub_account").order_by("due_at"))
    for d in deadlines.iterator(chunk_size=500):
        event = Event()
        event.add("uid", f"deadline-{d.pk}@{agency.slug}.mcn-shutdown")
        summary = f"{d.sub_account.display_name}: {_(d.label)}"
        if d.provisional:
            summary += f" ({_('provisional')})"
        event.add("summary", summary)
        event.add("dtstart", d.due_at.astimezone(agency.tz))
        event.add("dtend", d.due_at.astimezone(agency.tz) + timedelta(minutes=1))
        event.add("dtstamp", d.updated_at)
        event.add("description", f"{d.rule} · {_(d.note) if d.note else ''}".strip(" ·"))
        cal.add_component(event)
    return cal.to_ical()
