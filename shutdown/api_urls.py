"""Agency-scoped API routes of shutdown: mounted under /api/v1/agencies/<agency_slug>/."""

from rest_framework.routers import SimpleRouter

from .api.views import ShutdownTaskViewSet

router = SimpleRouter()
router.register("shutdown-tasks", ShutdownTaskViewSet, basename="api-shutdown-task")

urlpatterns: list = [*router.urls]
