"""Agency-scoped API routes of notifications: mounted under /api/v1/agencies/<agency_slug>/."""

from rest_framework.routers import SimpleRouter

from .api import views

router = SimpleRouter()
router.register("outbox", views.OutboxViewSet, basename="api-outbox")
router.register("reminders", views.ReminderViewSet, basename="api-reminder")
router.register("inbox", views.InboxViewSet, basename="api-inbox")
router.register("group-robots", views.RobotWebhookViewSet, basename="api-group-robot")

urlpatterns = [*router.urls]
