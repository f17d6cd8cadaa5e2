"""How the deadlines app reacts to the apps below it (connected in DeadlinesConfig.ready)."""

from deadlines.services.deadlines import deadlines_create_for_item, deadlines_recompute_everywhere
from deadlines.services.shell import shell_deadlines_set


def on_item_effective(sender, *, agency, item, effective_at, **kwargs):
    """An item took effect (inside the shutdown transaction): store its deadlines and reminders."""
    deadlines_create_for_item(agency=agency, item=item, effective_at=effective_at)


def on_calendar_updated(sender, *, years, change=None, **kwargs):
    """The working-day calendar changed (after commit): recount the deadlines counted on it."""
    deadlines_recompute_everywhere(change=change)


def on_shell_transition_changed(sender, *, agency, item, started_at, until, **kwargs):
    """An item's R9.2 shell transition was chosen or cancelled: store or withdraw its check-ins."""
    shell_deadlines_set(agency=agency, item=item, started_at=started_at, until=until)
