from django.urls import path

from deadlines.views.feed import ics_feed

urlpatterns = [
    path("calendar/<str:token>.ics", ics_feed, name="deadlines_ics_feed"),
]
