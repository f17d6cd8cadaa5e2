"""Agency-scoped API routes of approvals: mounted under /api/v1/agencies/<agency_slug>/.

Task actions are explicit paths so that they never collide with the shutdown app's
"shutdown-tasks" router (which is included first)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .api import views

router = SimpleRouter()
router.register("approval-policies", views.PolicyViewSet, basename="api-approval-policy")
router.register("delegations", views.DelegationViewSet, basename="api-delegation")
router.register("signatures", views.SignatureViewSet, basename="api-signature")

T = "shutdown-tasks/<int:pk>/"
urlpatterns = [
    path(T + "submit/", views.TaskSubmitAPIView.as_view(), name="api-task-submit"),
    path(T + "approve/", views.TaskApproveAPIView.as_view(), name="api-task-approve"),
    path(T + "reject/", views.TaskRejectAPIView.as_view(), name="api-task-reject"),
    path(T + "withdraw/", views.TaskWithdrawAPIView.as_view(), name="api-task-withdraw"),
    path(T + "cancel/", views.TaskCancelAPIView.as_view(), name="api-task-cancel"),
    path(T + "appeal/", views.TaskAppealAPIView.as_view(), name="api-task-appeal"),
    path(T + "approval/", views.TaskApprovalStatusAPIView.as_view(), name="api-task-approval"),
    path(T + "approval/add-approver/", views.TaskAddApproverAPIView.as_view(), name="api-task-add-approver"),
    path(T + "approval/hand-over/", views.TaskHandOverAPIView.as_view(), name="api-task-hand-over"),
    path(T + "approval/send-back/", views.TaskSendBackAPIView.as_view(), name="api-task-send-back"),
    path(T + "approval/copy/", views.TaskCopyAPIView.as_view(), name="api-task-copy"),
    path(T + "approval/urge/", views.TaskUrgeAPIView.as_view(), name="api-task-urge"),
    path(T + "audit/", views.TaskAuditEventsAPIView.as_view(), name="api-task-audit"),
    path(T + "audit/verify/", views.TaskAuditVerifyAPIView.as_view(), name="api-task-audit-verify"),
    path(T + "audit/export/", views.TaskAuditExportAPIView.as_view(), name="api-task-audit-export"),
    path("appeals/<int:pk>/decide/", views.AppealDecideAPIView.as_view(), name="api-appeal-decide"),
    *router.urls,
]
