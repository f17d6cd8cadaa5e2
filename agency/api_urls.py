"""Agency-scoped API routes: mounted under /api/v1/agencies/<agency_slug>/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .api.members import MemberListAPIView

router = SimpleRouter()

urlpatterns = [
    path("members/", MemberListAPIView.as_view(), name="api-member-list"),
    *router.urls,
]
