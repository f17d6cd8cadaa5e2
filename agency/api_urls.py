"""Agency-scoped API routes: mounted under /api/v1/agencies/<agency_slug>/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .api import subaccounts as sub
from .api.jobs import JobDetailAPIView, JobDownloadAPIView
from .api.members import MemberListAPIView
from .api.sso import IdentityProviderListAPIView
from .api.tokens import ApiTokenDetailAPIView, ApiTokenListAPIView

router = SimpleRouter()
router.register("sub-accounts", sub.SubAccountViewSet, basename="api-subaccount")

urlpatterns = [
    path("members/", MemberListAPIView.as_view(), name="api-member-list"),
    path("identity-providers/", IdentityProviderListAPIView.as_view(), name="api-identity-provider-list"),
    path("tokens/", ApiTokenListAPIView.as_view(), name="api-token-list"),
    path("tokens/<int:pk>/", ApiTokenDetailAPIView.as_view(), name="api-token-detail"),
    path("jobs/<int:pk>/", JobDetailAPIView.as_view(), name="api-job-detail"),
    path("jobs/<int:pk>/download/", JobDownloadAPIView.as_view(), name="api-job-download"),
    path("sub-accounts/import/", sub.SubAccountImportAPIView.as_view(), name="api-subaccount-import"),
    path("sub-accounts/import-template.csv", sub.SubAccountTemplateCSVAPIView.as_view(),
         name="api-subaccount-template-csv"),
    path("sub-accounts/import-template.xlsx", sub.SubAccountTemplateXLSXAPIView.as_view(),
         name="api-subaccount-template-xlsx"),
    path("sub-accounts/export.csv", sub.SubAccountExportCSVAPIView.as_view(), name="api-subaccount-export-csv"),
    path("sub-accounts/export.xlsx", sub.SubAccountExportXLSXAPIView.as_view(), name="api-subaccount-export-xlsx"),
    *router.urls,
]
