from django.urls import path

from .views import agency as views

app_name = "approvals"

urlpatterns = [
    path("policy/", views.PolicyListView.as_view(), name="policy"),
    path("policy/new/", views.PolicyEditView.as_view(), name="policy_new"),
    path("policy/<int:pk>/", views.PolicyEditView.as_view(), name="policy_edit"),
    path("policy/<int:pk>/delete/", views.PolicyDeleteView.as_view(), name="policy_delete"),
    path("delegations/", views.DelegationListView.as_view(), name="delegations"),
    path("delegations/<int:pk>/revoke/", views.DelegationRevokeView.as_view(), name="delegation_revoke"),
    path("tasks/<int:pk>/audit/", views.TaskAuditView.as_view(), name="task_audit"),
    path("tasks/<int:pk>/audit/print/", views.TaskAuditPrintView.as_view(), name="task_audit_print"),
    path("tasks/<int:pk>/audit/export.json", views.TaskAuditExportView.as_view(), name="task_audit_export"),
    path("tasks/<int:pk>/approval/", views.TaskApprovalView.as_view(), name="task_approval"),
    path("tasks/<int:pk>/signatures/", views.TaskSignatureListView.as_view(), name="task_signatures"),
    path("tasks/<int:pk>/<slug:action>/", views.TaskActionView.as_view(), name="task_action"),
    path("signatures/<int:pk>/<slug:action>/", views.SignatureActionView.as_view(), name="signature_action"),
    path("appeals/<int:pk>/decide/", views.AppealDecideView.as_view(), name="appeal_decide"),
]
