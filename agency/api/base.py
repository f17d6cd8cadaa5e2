"""Base classes for every agency-scoped API view under /api/v1/agencies/<agency_slug>/.

`initial` (after authentication) resolves the agency and the member's role; `dispatch`
runs the handler and the rendering inside the agency scope. Both are final.
Per-action permissions: `required_permissions = {"list": "...", "create": "..."}` on
viewsets, or per HTTP method (`{"GET": ..., "POST": ...}`) on plain API views;
`default_permission` covers the rest.
"""

import contextlib

from django.utils.translation import gettext as _
from django_scopes import scope
from rest_framework import exceptions, generics, mixins, viewsets
from rest_framework.permissions import SAFE_METHODS
from rest_framework.views import APIView

from accounts.models import ApiToken
from agency.security import enrolment_needed, step_up_api_check
from agency.tenancy import resolve_agency_access
from agency.timezones import agency_zone_activate


def api_token_of(request) -> ApiToken | None:
    """The personal API token that authenticated this request, if any."""
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, ApiToken) else None

FINAL_METHODS = ("dispatch", "initial", "setup_agency")


class _AgencyScopedMixin:
    default_permission: str = "agency.view"
    required_permissions: dict[str, str] = {}
    # HTTP methods or viewset actions that need a recent second-factor check (agency.security):
    # a session stepped up in the last minutes, or the code in the X-Second-Factor header.
    step_up_for: frozenset[str] = frozenset()

    agency = None
    access = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__module__ != __name__:
            for name in FINAL_METHODS:
                if name in cls.__dict__:
                    raise TypeError(f"{cls.__name__} may not override {name}(): the agency scoping is final.")

    def get_required_permission(self) -> str:
        action = getattr(self, "action", None)
        if action and action in self.required_permissions:
            return self.required_permissions[action]
        return self.required_permissions.get(self.request.method.upper(), self.default_permission)

    def setup_agency(self, request):
        agency_slug = self.kwargs.pop("agency_slug", None)
        from django.core.exceptions import PermissionDenied
        from django.http import Http404

        try:
            self.access = resolve_agency_access(
                user=request.user, agency_slug=agency_slug, permission=self.get_required_permission(),
                token=api_token_of(request),
            )
        except Http404 as exc:
            raise exceptions.NotFound() from exc
        except PermissionDenied as exc:
            raise exceptions.PermissionDenied(str(exc)) from exc
        if self.access.read_only and request.method not in SAFE_METHODS:
            raise exceptions.PermissionDenied(_("This API token is read-only."))
        if api_token_of(request) is None and enrolment_needed(request, agency=self.access.agency,
                                                              role=self.access.role):
            raise exceptions.PermissionDenied(_("This agency requires a second factor for your role: add an "
                                                "authenticator app in the back office first."))
        action = getattr(self, "action", None)
        if request.method in self.step_up_for or (action and action in self.step_up_for):
            step_up_api_check(request, agency=self.access.agency, role=self.access.role)
        self.agency = self.access.agency
        request.agency = self.agency
        request.agency_access = self.access
        agency_zone_activate(self.agency)  # datetimes in the body carry the agency's offset
        self._scope_stack.enter_context(scope(agency=self.agency))

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # authentication, throttles
        self.setup_agency(request)

    def dispatch(self, request, *args, **kwargs):
        with contextlib.ExitStack() as stack:
            self._scope_stack = stack
            response = super().dispatch(request, *args, **kwargs)
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()
            return response

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["agency"] = self.agency
        context["access"] = self.access
        return context


class AgencyScopedAPIView(_AgencyScopedMixin, APIView):
    def get_serializer_context(self):
        return {"request": self.request, "view": self, "agency": self.agency, "access": self.access}


class AgencyScopedGenericAPIView(_AgencyScopedMixin, generics.GenericAPIView):
    pass


class AgencyScopedGenericViewSet(_AgencyScopedMixin, viewsets.GenericViewSet):
    pass


class AgencyScopedModelViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    mixins.ListModelMixin,
    AgencyScopedGenericViewSet,
):
    pass


class AgencyScopedReadOnlyModelViewSet(mixins.RetrieveModelMixin, mixins.ListModelMixin, AgencyScopedGenericViewSet):
    pass


AGENCY_SCOPED_BASES = (_AgencyScopedMixin,)
