from django_scopes import scopes_disabled


class AdminScopesMiddleware:
    """The Django admin is the platform operator's tool (creating agencies and their first
    owner, editing the working-day calendar). It works across agencies by design, so
    scopes are disabled there, and only for staff users."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/admin/") and getattr(request, "user", None) and request.user.is_staff:
            with scopes_disabled():
                response = self.get_response(request)
                if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                    response.render()
                return response
        return self.get_response(request)


class AgencyTimezoneMiddleware:
    """Times in the agency's zone: the agency-scoped base views (agency.views.base,
    agency.api.base) activate the zone once tenancy has resolved the agency; this resets it after
    every request, so the next request on the same thread starts from the site's zone."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.utils import timezone

        try:
            response = self.get_response(request)
            agency = getattr(request, "agency", None)
            if agency is not None:
                response.headers.setdefault("X-Agency-Time-Zone", agency.time_zone)
            return response
        finally:
            timezone.deactivate()
