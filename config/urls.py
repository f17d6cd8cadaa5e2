from django.contrib import admin
from django.urls import include, path

from agency.api.agencies import MyAgencyListAPIView
from agency.views.member_admin import InvitationAcceptView
from agency.views.sso import SsoCallbackView, SsoChooseView, SsoLoginView
from backoffice.views.home import favicon, home
from config.api_docs import RedocView, SchemaView, SwaggerView

# Every HTML page of an agency lives under /a/<agency_slug>/ and every API under
# /api/v1/agencies/<agency_slug>/; the isolation suite walks these prefixes and fails on
# any view that is not served by the agency-scoped base classes.
agency_html = [
    path("", include("backoffice.urls")),
    path("", include("agency.urls")),
    path("tasks/", include("shutdown.urls")),
    path("approvals/", include("approvals.urls")),
    path("deadlines/", include("deadlines.urls")),
    path("notifications/", include("notifications.urls")),
]
agency_api = [
    path("", include("agency.api_urls")),
    path("", include("shutdown.api_urls")),
    path("", include("approvals.api_urls")),
    path("", include("deadlines.api_urls")),
    path("", include("notifications.api_urls")),
]

urlpatterns = [
    path("", home, name="home"),
    path("favicon.ico", favicon, name="favicon"),
    path("accounts/", include("accounts.urls")),
    path("accounts/passkeys/", include(("accounts.passkey_urls", "otp_webauthn"))),
    path("invitations/<str:token>/", InvitationAcceptView.as_view(), name="invitation_accept"),
    path("sso/", SsoChooseView.as_view(), name="sso_choose"),
    path("sso/<slug:agency_slug>/<slug:provider>/", SsoLoginView.as_view(), name="sso_login"),
    path("sso/<slug:agency_slug>/<slug:provider>/callback/", SsoCallbackView.as_view(), name="sso_callback"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("a/<slug:agency_slug>/", include(agency_html)),
    # Pages outside one agency: the approver's inbox across agencies, owner signing links,
    # the secret ICS feed. Each of these checks its own credential.
    path("", include("approvals.public_urls")),
    path("", include("deadlines.public_urls")),
    path("api/v1/agencies/", MyAgencyListAPIView.as_view(), name="api-agency-list"),
    path("api/v1/agencies/<slug:agency_slug>/", include(agency_api)),
    path("api/v1/", include("approvals.public_api_urls")),
    path("api/v1/schema/", SchemaView.as_view(), name="api-schema"),
    path("api/v1/docs/", SwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/redoc/", RedocView.as_view(url_name="api-schema"), name="api-redoc"),
]

handler400 = "config.views.bad_request"
handler403 = "config.views.permission_denied"
handler404 = "config.views.page_not_found"
handler500 = "config.views.server_error"
# Nothing is served from MEDIA_URL, not even with DEBUG on: uploaded files go out only through
# the agency- and role-checked download views (agency/files.py). /healthz, /readyz and /metrics
# are answered by ops.middleware.OpsEndpointsMiddleware, ahead of the host check.
