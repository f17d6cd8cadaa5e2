"""Pages outside one agency, mounted at the site root: the cross-agency inbox and the
owner signing pages. Each checks its own credential (login; the link's token)."""

from django.urls import path

from .views.public import InboxView, SignView

urlpatterns = [
    path("inbox/", InboxView.as_view(), name="inbox"),
    path("sign/<str:token>/", SignView.as_view(), name="approvals-sign"),
]
