"""Agency-scoped API routes of shutdown: mounted under /api/v1/agencies/<agency_slug>/."""

urlpatterns: list = []
