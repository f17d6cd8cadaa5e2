"""The project's URLs plus a bare DRF list over the sub-account table: the yardstick of
`subaccount_list_api_ratio` (bench_import.py)."""

from django.urls import path
from django_scopes import scopes_disabled
from rest_framework import generics, serializers
from rest_framework.pagination import PageNumberPagination

from agency.models import SubAccount
from config.urls import urlpatterns as project_urlpatterns


class BareSerializer(serializers.ModelSerializer):
    class Meta:
        model = SubAccount
        fields = "__all__"


class BarePagination(PageNumberPagination):
    page_size_query_param = "page_size"


class BareSubAccountList(generics.ListAPIView):
    """No tenancy, no filterset: the agency and the platform from the query string, one ordering."""

    serializer_class = BareSerializer
    pagination_class = BarePagination

    def get_queryset(self):
        params = self.request.query_params
        return SubAccount.objects.filter(agency_id=int(params["agency_id"]), platform=params["platform"],
                                         archived_at__isnull=True).order_by("-followers", "pk")

    def list(self, request, *args, **kwargs):
        with scopes_disabled():
            return super().list(request, *args, **kwargs)


urlpatterns = [path("bench/bare-sub-accounts/", BareSubAccountList.as_view()), *project_urlpatterns]
