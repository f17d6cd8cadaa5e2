"""A signed-in person with a second factor confirms it once per session before anything else.

Added after the login view rather than inside it: the password step stays as it is; the first
request after it goes to /accounts/2fa/verify/ until a code is accepted."""

from urllib.parse import urlencode

from django.http import HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from .mfa import SESSION_PENDING

OPEN_PREFIXES = ("/accounts/2fa/verify/", "/accounts/passkeys/authentication/", "/accounts/passkeys/jsi18n/", "/accounts/logout/", "/static/", "/i18n/", "/sign/", "/healthz",
                 "/readyz", "/metrics", "/calendar/")


class SecondFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated and not request.path.startswith(OPEN_PREFIXES)
                and not request.headers.get("authorization") and request.session.get(SESSION_PENDING)):
            if request.path.startswith("/api/"):
                return JsonResponse({"error": {"status": 403, "code": "second_factor_required",
                                               "message": _("Confirm your second factor in the back office first."),
                                               "details": {}}}, status=403)
            return HttpResponseRedirect(reverse("accounts:mfa_verify") + "?" + urlencode({"next": request.get_full_path()}))
        return self.get_response(request)
