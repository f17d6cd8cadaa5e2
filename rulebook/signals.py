"""How the apps above hear of a calendar change.

calendar_updated: sent after commit when calendar data changed (an import, a sync, an
operator's override), and once a day by the calendar sync as a safety net.
    kwargs: years (frozenset[int]; empty for the daily safety net),
            change (dict: reason — a key of CALENDAR_CHANGE_REASONS —, years, dates; may be absent)
The apps that store dates computed from the calendar (deadlines, shutdown's expected
effective dates) recount them and say on their timelines why the date moved.
"""

from django.dispatch import Signal
from django.utils.translation import gettext_lazy as _

calendar_updated = Signal()

# Why a stored date moved, as shown to users (the change's `reason`).
CALENDAR_CHANGE_REASONS = {
    "official_loaded": _("official calendar data for %(years)s was loaded"),
    "official_removed": _("official calendar data for %(years)s was removed"),
    "override_set": _("a platform operator changed the calendar on %(dates)s"),
    "override_cleared": _("a platform operator removed a calendar change on %(dates)s"),
    "recount": _("the working-day calendar changed"),
}


def calendar_change_text(change: dict | None) -> str:
    """The words for a stored calendar change (reason and its years/dates)."""
    change = change or {}
    template = CALENDAR_CHANGE_REASONS.get(change.get("reason", ""), CALENDAR_CHANGE_REASONS["recount"])
    return str(template) % {"years": ", ".join(str(y) for y in change.get("years", [])),
                            "dates": ", ".join(change.get("dates", []))}
