"""Passkeys (WebAuthn) through django-otp-webauthn, as a second way to give the second factor.

A passkey is added on top of an authenticator app (so recovery codes and the API's
X-Second-Factor code stay available), never instead of one, and never as a password-less login:
the person signs in with a password or single sign-on, then touches the passkey where the code
would be asked, at sign-in and for step-ups. The library does the ceremonies (challenge in the
session, origin and RP ID checks, signature counter); these subclasses only add the project's
rules, the session marks of accounts.mfa and the security events.
"""

from urllib.parse import parse_qs, urlsplit

from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django_otp_webauthn import exceptions
from django_otp_webauthn import views as webauthn_views
from django_otp_webauthn.models import WebAuthnCredential

from .mfa import has_second_factor, second_factor_passed
from .models import SecurityEvent
from .security import security_event_record


class AppFirst(exceptions.OTPWebAuthnApiError):
    status_code = 403
    default_detail = _("Add an authenticator app first; a passkey comes on top of it.")
    default_code = "authenticator_app_first"


def passkeys_of(user) -> list[WebAuthnCredential]:
    return list(WebAuthnCredential.objects.filter(user=user).order_by("-pk"))


def passkey_remove(*, user, pk: int, request=None) -> None:
    """Only the person's own passkey (another's id changes nothing)."""
    deleted, _rows = WebAuthnCredential.objects.filter(user=user, pk=pk).delete()
    if deleted:
        security_event_record(
            user=user, kind=SecurityEvent.Kind.MFA_REMOVED, detail="passkey", request=request
        )


def relying_party_id(request: HttpRequest) -> str:
    """The site's host name, as the browser sees it (settings.OTP_WEBAUTHN_RP_ID when set)."""
    from django.conf import settings

    return getattr(settings, "PASSKEY_RP_ID", "") or request.get_host().rsplit(":", 1)[0]


class RegisterBegin(webauthn_views.BeginCredentialRegistrationView):
    def check_can_register(self):
        super().check_can_register()
        if not has_second_factor(self.request.user):
            raise AppFirst()


class RegisterComplete(webauthn_views.CompleteCredentialRegistrationView):
    def post(self, *args, **kwargs):
        response = super().post(*args, **kwargs)
        if response.status_code == 200:
            security_event_record(
                user=self.request.user,
                kind=SecurityEvent.Kind.MFA_ENROLLED,
                detail="passkey",
                request=self.request,
            )
        return response


class AuthBegin(webauthn_views.BeginCredentialAuthenticationView):
    pass


class AuthComplete(webauthn_views.CompleteCredentialAuthenticationView):
    def get_success_url(self):
        """Where the verify page would have sent the person: its own `next` (the script sends the
        verify page's address)."""
        url = self.get_redirect_url() or "/"
        parts = urlsplit(url)
        if parts.path == reverse("accounts:mfa_verify"):
            inner = parse_qs(parts.query).get("next", ["/"])[0]
            url = (
                inner
                if url_has_allowed_host_and_scheme(inner, allowed_hosts={self.request.get_host()})
                else "/"
            )
        return url

    def complete_auth(self, device):
        if not self.request.user.is_authenticated or device.user_id != self.request.user.pk:
            raise exceptions.PasswordlessLoginDisabled()
        second_factor_passed(self.request, device)
