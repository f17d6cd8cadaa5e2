"""The WebAuthn ceremonies under the namespace django-otp-webauthn's scripts expect."""

from django.urls import path
from django.views.i18n import JavaScriptCatalog

from . import passkeys

urlpatterns = [
    path("registration/begin/", passkeys.RegisterBegin.as_view(), name="credential-registration-begin"),
    path(
        "registration/complete/", passkeys.RegisterComplete.as_view(), name="credential-registration-complete"
    ),
    path("authentication/begin/", passkeys.AuthBegin.as_view(), name="credential-authentication-begin"),
    path(
        "authentication/complete/", passkeys.AuthComplete.as_view(), name="credential-authentication-complete"
    ),
    path("jsi18n/", JavaScriptCatalog.as_view(packages=["django_otp_webauthn"]), name="js-i18n-catalog"),
]
