from django.urls import path

from .views import jobs, member_admin, members, security, sso, subaccounts, tokens

app_name = "agency"

urlpatterns = [
    path("members/", members.MemberListView.as_view(), name="member_list"),
    path("members/invite/", member_admin.InviteView.as_view(), name="member_invite"),
    path("members/invitations/<int:pk>/<slug:action>/", member_admin.InvitationActionView.as_view(),
         name="invitation_action"),
    path("members/<int:pk>/", member_admin.MemberRoleView.as_view(), name="member_role"),
    path("security/", security.AgencySecurityView.as_view(), name="security"),
    path("security/sso/", sso.AgencySsoView.as_view(), name="sso"),
    path("security/sso/<int:pk>/", sso.AgencySsoEditView.as_view(), name="sso_edit"),
    path("tokens/", tokens.ApiTokenListView.as_view(), name="token_list"),
    path("tokens/<int:pk>/revoke/", tokens.ApiTokenRevokeView.as_view(), name="token_revoke"),
    path("jobs/", jobs.JobListView.as_view(), name="job_list"),
    path("jobs/<int:pk>/", jobs.JobDetailView.as_view(), name="job_detail"),
    path("jobs/<int:pk>/status/", jobs.JobStatusView.as_view(), name="job_status"),
    path("jobs/<int:pk>/download/", jobs.JobDownloadView.as_view(), name="job_download"),
    path("jobs/<int:pk>/cancel/", jobs.JobCancelView.as_view(), name="job_cancel"),
    path("sub-accounts/", subaccounts.SubAccountListView.as_view(), name="subaccount_list"),
    path("sub-accounts/new/", subaccounts.SubAccountCreateView.as_view(), name="subaccount_create"),
    path("sub-accounts/bulk/", subaccounts.SubAccountBulkView.as_view(), name="subaccount_bulk"),
    path("sub-accounts/export/", subaccounts.SubAccountExportView.as_view(), name="subaccount_export"),
    path("sub-accounts/import/", subaccounts.SubAccountImportView.as_view(), name="subaccount_import"),
    path("sub-accounts/import/template/", subaccounts.SubAccountImportTemplateView.as_view(),
         name="subaccount_import_template"),
    path("sub-accounts/import/<int:import_id>/confirm/", subaccounts.SubAccountImportConfirmView.as_view(),
         name="subaccount_import_confirm"),
    path("sub-accounts/import/<int:import_id>/cancel/", subaccounts.SubAccountImportCancelView.as_view(),
         name="subaccount_import_cancel"),
    path("sub-accounts/<int:pk>/", subaccounts.SubAccountDetailView.as_view(), name="subaccount_detail"),
    path("sub-accounts/<int:pk>/edit/", subaccounts.SubAccountEditView.as_view(), name="subaccount_edit"),
    path("sub-accounts/<int:pk>/archive/", subaccounts.SubAccountArchiveView.as_view(), name="subaccount_archive"),
    path("sub-accounts/<int:pk>/restore/", subaccounts.SubAccountRestoreView.as_view(), name="subaccount_restore"),
]
