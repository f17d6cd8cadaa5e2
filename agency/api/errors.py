"""One error shape for every API error:

    {"error": {"status": 409, "code": "conflict", "message": "…", "details": {…}}}
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DataError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from agency.exceptions import DomainError


def error_body(status_code: int, code: str, message: str, details=None) -> dict:
    return {"error": {"status": status_code, "code": code, "message": str(message), "details": details or {}}}


def exception_handler(exc, context):
    if isinstance(exc, OverflowError | DataError):
        # A number too large for the database column (a filter or id of 30 digits): bad input, not a 500.
        return Response(error_body(400, "invalid", _("A value is out of range.")), status=400)
    if isinstance(exc, DomainError):
        return Response(error_body(exc.status_code, exc.code, exc.message, exc.details), status=exc.status_code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        details = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        message = _("The request has invalid fields.")
        code = "invalid"
    else:
        detail = getattr(exc, "detail", "")
        message = str(detail)
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        details = {}
    if isinstance(exc, exceptions.ParseError):
        code = "malformed"
    response.data = error_body(response.status_code, code, message, details)
    return response


def json_error_response(status_code: int, code: str, message: str):
    from django.http import JsonResponse

    return JsonResponse(error_body(status_code, code, message), status=status_code)


HTTP_CONFLICT = status.HTTP_409_CONFLICT
