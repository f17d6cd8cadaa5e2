"""Agency-scoped API routes of deadlines: mounted under /api/v1/agencies/<agency_slug>/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .api import views

router = SimpleRouter()
router.register("deadlines", views.DeadlineViewSet, basename="api-deadline")
router.register("alerts", views.AlertViewSet, basename="api-alert")
router.register("reminder-rules", views.ReminderRuleViewSet, basename="api-reminder-rule")

urlpatterns = [
    path("metrics/", views.MetricsIngestAPIView.as_view(), name="api-metrics-ingest"),
    path("metrics/upload/", views.MetricsUploadAPIView.as_view(), name="api-metrics-upload"),
    path("sub-accounts/<int:pk>/reopen-request/", views.ReopenRequestAPIView.as_view(), name="api-reopen-request"),
    path("deadline-policy/", views.PolicyAPIView.as_view(), name="api-deadline-policy"),
    *router.urls,
]
