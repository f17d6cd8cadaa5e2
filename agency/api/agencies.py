from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView

from accounts.selectors import memberships_for_user
from agency.api.base import api_token_of


class MyAgencySerializer(serializers.Serializer):
    slug = serializers.CharField(source="agency.slug")
    name = serializers.CharField(source="agency.name")
    time_zone = serializers.CharField(source="agency.time_zone")
    role = serializers.CharField()


@extend_schema(summary="The agencies the caller belongs to, with the caller's role in each")
class MyAgencyListAPIView(ListAPIView):
    """Not agency-scoped by design: it lists the caller's own memberships."""

    serializer_class = MyAgencySerializer
    filter_backends: list = []

    def get_queryset(self):
        memberships = memberships_for_user(self.request.user)
        token = api_token_of(self.request)
        if token is not None:  # a token reaches its own agency only
            memberships = memberships.filter(agency_id=token.agency_id)
        return memberships
