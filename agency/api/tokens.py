"""Personal API tokens through the API: list, create (raw value returned once), revoke."""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from accounts.models import ApiToken
from accounts.security import (
    DEFAULT_TOKEN_DAYS,
    MAX_TOKEN_DAYS,
    api_token_create,
    api_token_revoke,
    api_tokens_for,
)
from agency.api.base import AgencyScopedAPIView


class ApiTokenSerializer(serializers.ModelSerializer):
    active = serializers.BooleanField(source="is_live", read_only=True)

    class Meta:
        model = ApiToken
        fields = ["id", "name", "scope", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at",
                  "active"]
        read_only_fields = fields


class ApiTokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    scope = serializers.ChoiceField(choices=ApiToken.Scope.choices, default=ApiToken.Scope.READ_ONLY)
    days = serializers.IntegerField(min_value=1, max_value=MAX_TOKEN_DAYS, default=DEFAULT_TOKEN_DAYS)


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="The raw token: shown this once, never again.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]
        read_only_fields = fields


class ApiTokenListAPIView(AgencyScopedAPIView):
    default_permission = "agency.view"
    step_up_for = frozenset({"POST"})

    @extend_schema(summary="My API tokens for this agency", responses={200: ApiTokenSerializer(many=True)})
    def get(self, request, **kwargs):
        tokens = api_tokens_for(user=request.user, agency=self.agency)
        return Response(ApiTokenSerializer(tokens, many=True).data)

    @extend_schema(summary="Create an API token for this agency (needs a recent second factor when enrolled)",
                   request=ApiTokenCreateSerializer, responses={201: ApiTokenCreatedSerializer})
    def post(self, request, **kwargs):
        body = ApiTokenCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        token, raw = api_token_create(user=request.user, agency=self.agency, request=request, **body.validated_data)
        data = ApiTokenSerializer(token).data | {"token": raw}
        return Response(data, status=status.HTTP_201_CREATED)


class ApiTokenDetailAPIView(AgencyScopedAPIView):
    default_permission = "agency.view"

    @extend_schema(summary="Revoke one of my API tokens", responses={204: None})
    def delete(self, request, pk, **kwargs):
        token = api_tokens_for(user=request.user, agency=self.agency).filter(pk=pk).first()
        if token is None:
            raise Http404
        api_token_revoke(token=token, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)
