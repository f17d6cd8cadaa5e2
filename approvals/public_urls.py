"""Pages outside one agency, mounted at the site root: the cross-agency inbox and the
owner signing pages. Each checks its own credential (login; the link's token, exchanged at
the first visit for a signing session and a token-free page)."""

from django.urls import path

from .views.public import InboxView, SignLinkView, SignView

urlpatterns = [
    path("inbox/", InboxView.as_view(), name="inbox"),
    path("sign/s/<str:handle>/", SignView.as_view(), name="approvals-sign-session"),
    path("sign/<str:token>/", SignLinkView.as_view(), name="approvals-sign"),
    # The short form an SMS carries (its template holds "<site>/s/", the variable the token).
    path("s/<str:token>", SignLinkView.as_view(), name="approvals-sign-short"),
]
