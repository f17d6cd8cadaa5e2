from django.urls import path

from .views import pages

app_name = "notifications"

urlpatterns = [
    path("", pages.InboxView.as_view(), name="inbox"),
    path("outbox/", pages.OutboxView.as_view(), name="outbox"),
    path("failed/", pages.FailedView.as_view(), name="failed"),
    path("settings/", pages.PreferencesView.as_view(), name="preferences"),
    path("messages/<int:pk>/", pages.MessageActionView.as_view(), name="message_action"),
]
