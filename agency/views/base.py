"""Base class for every agency-scoped HTML view under /a/<agency_slug>/.

`dispatch` is final: it resolves the agency from the URL, checks membership (404)
and role (403), and runs the whole view — template rendering included — inside the
django-scopes agency scope. Subclasses declare `required_permission` (or a
per-method `permission_by_method`) and never touch the scoping.
"""

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponseRedirect
from django.views import View
from django_scopes import scope

from agency.exceptions import Conflict, DomainValidationError
from agency.security import enrolment_needed, enrolment_redirect, step_up_redirect
from agency.tenancy import AgencyAccess, resolve_agency_access
from agency.timezones import agency_zone_activate

FINAL_METHODS = ("dispatch", "setup_agency")


class AgencyScopedView(View):
    required_permission: str = "agency.view"
    permission_by_method: dict[str, str] = {}
    # HTTP methods that need a recent second-factor check (agency.security): approving, changing
    # a policy, creating an API token…
    step_up_for: frozenset[str] = frozenset()

    agency = None
    access: AgencyAccess | None = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in FINAL_METHODS:
            if name in cls.__dict__:
                raise TypeError(f"{cls.__name__} may not override {name}(): the agency scoping is final.")

    def get_required_permission(self, method: str) -> str:
        return self.permission_by_method.get(method.upper(), self.required_permission)

    def setup_agency(self, request, agency_slug):
        self.access = resolve_agency_access(
            user=request.user, agency_slug=agency_slug, permission=self.get_required_permission(request.method)
        )
        self.agency = self.access.agency
        request.agency = self.agency
        request.agency_access = self.access
        agency_zone_activate(self.agency)  # every time on the page in the agency's zone

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        agency_slug = kwargs.pop("agency_slug")
        self.setup_agency(request, agency_slug)
        if enrolment_needed(request, agency=self.agency, role=self.access.role):
            return enrolment_redirect(request, agency=self.agency)
        if request.method in self.step_up_for:
            needed = step_up_redirect(request, agency=self.agency, role=self.access.role)
            if needed:
                return needed
        with scope(agency=self.agency):
            try:
                response = super().dispatch(request, *args, **kwargs)
            except (Conflict, DomainValidationError) as exc:
                # A rule said no: tell the user where they are, change nothing.
                messages.error(request, str(exc.message))
                return HttpResponseRedirect(request.headers.get("referer") or request.get_full_path())
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()
            return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs) if hasattr(super(), "get_context_data") else dict(kwargs)
        context.setdefault("agency", self.agency)
        context.setdefault("access", self.access)
        return context
