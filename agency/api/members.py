from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView

from accounts.models import Membership
from agency.api.base import AgencyScopedGenericAPIView


class MemberSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email")
    full_name = serializers.CharField(source="user.full_name")

    class Meta:
        model = Membership
        fields = ["id", "email", "full_name", "role", "created_at"]


@extend_schema(summary="Members of the agency and their roles")
class MemberListAPIView(AgencyScopedGenericAPIView, ListAPIView):
    serializer_class = MemberSerializer
    default_permission = "members.view"
    filter_backends: list = []

    def get_queryset(self):
        return Membership.objects.filter(agency=self.agency).select_related("user").order_by("role", "user__email")
