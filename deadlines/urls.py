from django.urls import path

from .views import pages

app_name = "deadlines"

urlpatterns = [
    path("", pages.DeadlineListView.as_view(), name="deadline_list"),
    path("calendar/", pages.CalendarView.as_view(), name="calendar"),
    path("alerts/", pages.AlertListView.as_view(), name="alert_list"),
    path("alerts/<int:pk>/", pages.AlertActionView.as_view(), name="alert_action"),
    path("metrics/upload/", pages.MetricsUploadView.as_view(), name="metrics_upload"),
    path("tasks/<int:pk>/", pages.TaskTimelineView.as_view(), name="task_timeline"),
    path("accounts/<int:pk>/", pages.AccountTimelineView.as_view(), name="account_timeline"),
    path("dormant-logins/<int:pk>/", pages.DormantLoginView.as_view(), name="dormant_login"),
    path("policy/", pages.PolicyView.as_view(), name="policy"),
    path("reminder-rules/", pages.ReminderRulesView.as_view(), name="reminder_rules"),
]
