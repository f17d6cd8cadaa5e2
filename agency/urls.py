from django.urls import path

from .views import dashboard, members, subaccounts

app_name = "agency"

urlpatterns = [
    path("", dashboard.DashboardView.as_view(), name="dashboard"),
    path("members/", members.MemberListView.as_view(), name="member_list"),
    path("sub-accounts/", subaccounts.SubAccountListView.as_view(), name="subaccount_list"),
]
