"""Agency-scoped API routes of shutdown: mounted under /api/v1/agencies/<agency_slug>/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .api.bulk import ReceiptsImportAPIView, TaskBulkAPIView
from .api.views import ShutdownTaskViewSet

router = SimpleRouter()
router.register("shutdown-tasks", ShutdownTaskViewSet, basename="api-shutdown-task")

urlpatterns: list = [
    *router.urls,
    path("shutdown-tasks/<int:pk>/bulk/", TaskBulkAPIView.as_view(), name="api-shutdown-task-bulk"),
    path("shutdown-tasks/<int:pk>/receipts/", ReceiptsImportAPIView.as_view(), name="api-shutdown-task-receipts"),
]
