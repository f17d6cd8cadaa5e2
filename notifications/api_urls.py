"""Agency-scoped API routes of notifications: mounted under /api/v1/agencies/<agency_slug>/."""

urlpatterns: list = []
