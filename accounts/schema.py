"""How the OpenAPI document describes personal API tokens (drf-spectacular extension)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "mcn_<prefix>_<secret>",
            "description": (
                "A personal API token, created in the back office (Agency → API tokens) or with "
                "POST /api/v1/agencies/{agency_slug}/tokens/. Each token belongs to one agency and is "
                "refused (404) for every other; a read-only token may only read (GET). Tokens expire "
                "(90 days by default) and are revoked when the member leaves the agency or loses "
                "permissions. Actions that need a second factor accept the current code in the "
                "X-Second-Factor header."
            ),
        }
