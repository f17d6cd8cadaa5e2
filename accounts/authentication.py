"""DRF authentication by personal API token: `Authorization: Bearer mcn_…`.

The token names one agency; agency.tenancy refuses every other agency (404, as for a
non-member) and a read-only token anything but reading."""

from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions

from .security import api_token_lookup, api_token_touch


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() not in (b"bearer", b"token"):
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("The Authorization header should be “Bearer <token>”."))
        try:
            raw = header[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed(_("This API token is not valid.")) from exc
        token = api_token_lookup(raw)
        if token is None:
            raise exceptions.AuthenticationFailed(_("This API token is not valid."))
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed(_("This API token has been revoked."))
        if not token.is_live:
            raise exceptions.AuthenticationFailed(_("This API token has expired. Create a new one."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("This account is disabled."))
        api_token_touch(token)
        return token.user, token

    def authenticate_header(self, request):
        return 'Bearer realm="api"'
