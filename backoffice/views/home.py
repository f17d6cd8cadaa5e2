from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import cache_control

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


FAVICON = Path(__file__).resolve().parents[2] / "static" / "img" / "favicon.ico"


@cache_control(max_age=86400, public=True)
def favicon(request):
    """/favicon.ico, which browsers ask for on every site (no login needed)."""
    return FileResponse(FAVICON.open("rb"), content_type="image/x-icon")
