"""Approval API outside one agency, mounted at /api/v1/: the cross-agency inbox."""

from django.urls import path

from .api.inbox import InboxAPIView, InboxBulkApproveAPIView

urlpatterns = [
    path("inbox/", InboxAPIView.as_view(), name="api-inbox"),
    path("inbox/approve/", InboxBulkApproveAPIView.as_view(), name="api-inbox-approve"),
]
