def inbox(request):
    """Adds `inbox_count` (decisions waiting for the user, all agencies) to every page."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from .selectors import inbox_for_user

    return {"inbox_count": len(inbox_for_user(user))}
