"""How the shutdown app reacts to the layers below it (connected in ShutdownConfig.ready)."""

from shutdown.services.expected import items_recompute_everywhere


def on_calendar_updated(sender, *, years, change=None, **kwargs):
    """The working-day calendar changed (after commit): recount the items' expected dates."""
    items_recompute_everywhere(change=change)
