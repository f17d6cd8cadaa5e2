"""How the deadlines app reacts to the apps below it (connected in DeadlinesConfig.ready)."""

from deadlines.services.deadlines import deadlines_create_for_item, deadlines_recompute_everywhere


def on_item_effective(sender, *, agency, item, effective_at, **kwargs):
    """An item took effect (inside the shutdown transaction): store its deadlines and reminders."""
    deadlines_create_for_item(agency=agency, item=item, effective_at=effective_at)


def on_calendar_updated(sender, *, years, change=None, **kwargs):
    """The working-day calendar changed (after commit): recount the deadlines counted on it."""
    deadlines_recompute_everywhere(change=change)
