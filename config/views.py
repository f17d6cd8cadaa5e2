"""Error pages in the user's language; JSON in the API's error shape under /api/."""

from django.shortcuts import render
from django.utils.translation import gettext as _

from agency.api.errors import json_error_response


def _error(request, status: int, code: str, message: str, template: str):
    if request.path.startswith("/api/"):
        return json_error_response(status, code, message)
    return render(request, template, {"status": status, "message": message}, status=status)


def bad_request(request, exception=None):
    return _error(request, 400, "bad_request", _("The request could not be understood."), "errors/400.html")


def permission_denied(request, exception=None):
    message = str(exception) if exception and str(exception) else _("You do not have permission to do this.")
    return _error(request, 403, "permission_denied", message, "errors/403.html")


def page_not_found(request, exception=None):
    return _error(request, 404, "not_found", _("The page or object does not exist."), "errors/404.html")


def server_error(request):
    return _error(request, 500, "server_error", _("Something went wrong on our side. It has been logged."),
                  "errors/500.html")
