"""The OpenAPI schema, Swagger UI and Redoc, served from this machine (drf-spectacular-sidecar)
under the project's own Content-Security-Policy: the pages load nonce'd scripts and a
self-hosted init script (static/api/), no inline code, no CDN, no font server.

When DEBUG is off they are for logged-in users only, unless API_DOCS_PUBLIC says otherwise
(settings: API_DOCS_PUBLIC, default = DEBUG)."""

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny, IsAuthenticated


class _DocsAccess:
    def get_permissions(self):
        return [AllowAny()] if settings.API_DOCS_PUBLIC else [IsAuthenticated()]


class SchemaView(_DocsAccess, SpectacularAPIView):
    pass


class _DocsPage(_DocsAccess):
    """The templates get `csp_nonce` from the csp context processor, like every page."""

    def permission_denied(self, request, message=None, code=None):
        if not request.user.is_authenticated:  # a person at a browser: the login page, then back here
            raise _LoginRedirect(redirect_to_login(request.get_full_path()))
        super().permission_denied(request, message=message, code=code)

    def handle_exception(self, exc):
        if isinstance(exc, _LoginRedirect):
            return exc.response
        return super().handle_exception(exc)


class _LoginRedirect(Exception):
    def __init__(self, response):
        super().__init__("login required")
        self.response = response


class SwaggerView(_DocsPage, SpectacularSwaggerView):
    template_name = "api/swagger_ui.html"


class RedocView(_DocsPage, SpectacularRedocView):
    template_name = "api/redoc.html"
