from accounts.selectors import memberships_for_user

from .navigation import build_agency_nav, safe_reverse


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    agency = getattr(request, "agency", None)
    access = getattr(request, "agency_access", None)
    context = {
        "my_memberships": list(memberships_for_user(user)),
        "inbox_url": safe_reverse("inbox"),
    }
    if agency is not None:
        context["current_agency"] = agency
        context["current_access"] = access
        context["agency_nav"] = build_agency_nav(agency, access, request.path)
    return context
