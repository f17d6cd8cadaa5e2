"""Agency-scoped API routes of approvals: mounted under /api/v1/agencies/<agency_slug>/."""

urlpatterns: list = []
