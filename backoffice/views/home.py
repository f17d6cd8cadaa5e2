from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from accounts.selectors import memberships_for_user


@login_required
def home(request):
    """The agency switcher: one agency → straight in; several → pick one."""
    memberships = list(memberships_for_user(request.user))
    last = request.session.get("last_agency")
    if len(memberships) == 1:
        return redirect("backoffice:dashboard", agency_slug=memberships[0].agency.slug)
    if last and any(m.agency.slug == last for m in memberships) and not request.GET.get("switch"):
        return redirect("backoffice:dashboard", agency_slug=last)
    return render(request, "backoffice/home.html", {"memberships": memberships})
