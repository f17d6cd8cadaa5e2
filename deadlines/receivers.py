def on_item_effective(sender, *, agency, item, effective_at, **kwargs):
    """An item took effect (inside the shutdown transaction): store its deadlines and reminders."""
    from deadlines.services.deadlines import deadlines_create_for_item

    deadlines_create_for_item(agency=agency, item=item, effective_at=effective_at)
