from django.urls import path

from .views import pages, robots

app_name = "notifications"

urlpatterns = [
    path("", pages.InboxView.as_view(), name="inbox"),
    path("<int:pk>/open/", pages.NoticeOpenView.as_view(), name="notice_open"),
    path("robots/", robots.RobotListView.as_view(), name="robots"),
    path("robots/<int:pk>/delete/", robots.RobotDeleteView.as_view(), name="robot_delete"),
    path("robots/<int:pk>/test/", robots.RobotTestView.as_view(), name="robot_test"),
    path("outbox/", pages.OutboxView.as_view(), name="outbox"),
    path("failed/", pages.FailedView.as_view(), name="failed"),
    path("settings/", pages.PreferencesView.as_view(), name="preferences"),
    path("messages/<int:pk>/", pages.MessageActionView.as_view(), name="message_action"),
]
