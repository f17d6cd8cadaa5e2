"""The agency's sign-in settings: which roles need a second factor, whether passwords stay
allowed next to single sign-on, and (for the owner) the members' security events."""

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from accounts.models import Membership
from accounts.roles import Role
from accounts.security import security_events_for
from agency.security import agency_security_policy_update, mfa_required_roles, password_login_allowed

from .base import AgencyScopedView

EVENTS_SHOWN = 100


class AgencySecurityView(AgencyScopedView, View):
    required_permission = "security.manage"
    step_up_for = frozenset({"POST"})

    def get(self, request):
        events = []
        if self.access.can("security.events"):
            members = Membership.objects.filter(agency=self.agency).values("user_id")
            events = security_events_for(members)[:EVENTS_SHOWN]
        return render(request, "agency/security.html", self.get_context_data(
            roles=Role.choices, required=mfa_required_roles(self.agency),
            password_login=password_login_allowed(self.agency), events=events,
            can_see_events=self.access.can("security.events")))

    def post(self, request):
        agency_security_policy_update(agency=self.agency, mfa_roles=request.POST.getlist("mfa_roles"),
                                      password_login=password_login_allowed(self.agency))
        messages.success(request, _("The sign-in settings were saved."))
        return HttpResponseRedirect(reverse("agency:security", kwargs={"agency_slug": self.agency.slug}))
