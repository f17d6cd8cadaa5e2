from django.urls import path

from .views.dashboard import DashboardView

app_name = "backoffice"

urlpatterns = [
    path("", DashboardView.as_view(), name="dashboard"),
]
