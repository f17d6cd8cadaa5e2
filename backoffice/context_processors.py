from django.urls import reverse

from accounts.selectors import memberships_for_user
from agency.timezones import zone_label
from approvals.selectors import inbox_for_user

from .navigation import build_agency_nav


def navigation(request):
    """The top bar of every back-office page: agencies to switch to, the main navigation of
    the current agency, the approval inbox and how many decisions wait there."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    agency = getattr(request, "agency", None)
    access = getattr(request, "agency_access", None)
    # The tenancy check read every membership of the user already: reuse them (one read per request).
    memberships = list(access.memberships) if access is not None and access.memberships else list(
        memberships_for_user(user))
    context = {
        "my_memberships": memberships,
        "inbox_url": reverse("inbox"),
        "inbox_count": len(inbox_for_user(user, memberships=memberships)),
    }
    if agency is not None:
        context["current_agency"] = agency
        context["current_zone"] = zone_label(agency)  # every time on the page is in this zone
        context["current_access"] = access
        context["agency_nav"] = build_agency_nav(agency, access, request.path)
    return context
