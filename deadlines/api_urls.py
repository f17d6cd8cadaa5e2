"""Agency-scoped API routes of deadlines: mounted under /api/v1/agencies/<agency_slug>/."""

urlpatterns: list = []
