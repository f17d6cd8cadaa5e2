"""OpenAPI generation for agency-scoped views, and the error answers of every operation.

Schema generation inspects every view's queryset to learn its model; there is no
request agency at that point, so it runs with scopes disabled. Querysets are only
introspected (`.model`), never evaluated, so nothing is read across agencies.
"""

from django_scopes import scopes_disabled
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ScopedSchemaGenerator(SchemaGenerator):
    def get_schema(self, request=None, public=False):
        with scopes_disabled():
            return super().get_schema(request=request, public=public)


class ErrorObjectSerializer(serializers.Serializer):
    status = serializers.IntegerField(help_text="the HTTP status, repeated")
    code = serializers.CharField(help_text="a stable machine code: invalid, not_found, conflict, file_rejected, …")
    message = serializers.CharField(help_text="what went wrong, in the user's language")
    details = serializers.DictField(help_text="per field or per limit (e.g. `limit`, `max`)")


class ErrorSerializer(serializers.Serializer):
    """The one error shape of every API error (agency.api.errors)."""

    error = ErrorObjectSerializer()


# The error answers every operation may give, each in the one error shape.
ERROR_ANSWERS = {
    "400": "Invalid input: `error.details` names the fields, or the limit a file broke",
    "401": "Not logged in (no session, no valid token)",
    "403": "The member's role does not allow this",
    "404": "No such object in this agency (or no such agency for this member)",
    "409": "Not allowed in the current state",
    "413": "The request body is larger than the server accepts",
    "429": "Too many requests; try again later",
}
ERROR_MEDIA_TYPES = ("application/json",)


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's AutoSchema, plus the error answers (400, 401, 403, 404, 409, 413, 429)
    documented on every operation with the one error shape, unless the view documents its own."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code, description in ERROR_ANSWERS.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(ErrorSerializer, description=description), code, ERROR_MEDIA_TYPES, direction)
        return responses
