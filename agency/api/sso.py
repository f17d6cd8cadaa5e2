"""The agency's identity providers, read-only (linking one is done on the security page, after a
step-up). The client secret is never returned: only whether one is stored, masked."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView

from agency.api.base import AgencyScopedGenericAPIView
from agency.models import IdentityProvider
from agency.sso import MASK, callback_uri


class IdentityProviderSerializer(serializers.ModelSerializer):
    client_secret = serializers.SerializerMethodField(help_text="Masked: the secret is never returned.")
    redirect_uri = serializers.SerializerMethodField(help_text="To register at the provider.")

    class Meta:
        model = IdentityProvider
        fields = [
            "id",
            "kind",
            "slug",
            "display_name",
            "issuer",
            "client_id",
            "client_secret",
            "corp_id",
            "email_domains",
            "auto_join",
            "auto_join_role",
            "trust_idp_mfa",
            "is_active",
            "redirect_uri",
        ]

    def get_client_secret(self, obj) -> str:
        return MASK if obj.has_secret else ""

    def get_redirect_uri(self, obj) -> str:
        return callback_uri(self.context["request"], obj)


@extend_schema(summary="The agency's single sign-on identity providers (secrets masked)")
class IdentityProviderListAPIView(AgencyScopedGenericAPIView, ListAPIView):
    serializer_class = IdentityProviderSerializer
    default_permission = "security.manage"
    filter_backends: list = []

    def get_queryset(self):
        return (
            IdentityProvider.objects.filter(agency=self.agency)
            .select_related("agency")
            .order_by("display_name")
        )
