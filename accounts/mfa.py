"""Second factor (django-otp): an authenticator app (TOTP) with one-use recovery codes.

django-otp keeps the devices, checks codes, refuses replayed codes and throttles each device
(exponential back-off after a wrong code); on top of that a person is locked out of second-
factor checks for MFA_LOCKOUT_MINUTES after MFA_LOCKOUT_FAILURES wrong codes in that window.
Every enrolment, removal, failure and lock-out is a SecurityEvent.

A verified code marks the session (`django_otp.login`) and stamps the time: a "step-up" is a
verification within the last STEP_UP_SECONDS.
"""

import time
from datetime import timedelta

import django_otp
import segno
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import SecurityEvent
from .security import security_event_record

SESSION_VERIFIED_AT = "mfa_verified_at"
SESSION_PENDING = "mfa_pending"  # signed in with a password, second factor not confirmed yet
RECOVERY_CODES = 10
TOTP_NAME = "authenticator"
RECOVERY_NAME = "recovery"


def step_up_seconds() -> int:
    return getattr(settings, "MFA_STEP_UP_SECONDS", 300)


def totp_device(user, *, confirmed: bool | None = True) -> TOTPDevice | None:
    qs = TOTPDevice.objects.filter(user=user)
    if confirmed is not None:
        qs = qs.filter(confirmed=confirmed)
    return qs.order_by("-pk").first()


def has_second_factor(user) -> bool:
    return bool(user and user.is_authenticated and TOTPDevice.objects.filter(user=user, confirmed=True).exists())


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__name=RECOVERY_NAME).count()


# --- enrolment ------------------------------------------------------------------------------

def totp_enrolment_start(*, user) -> TOTPDevice:
    """An unconfirmed device for the enrolment page (kept until confirmed or replaced)."""
    device = totp_device(user, confirmed=False)
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)
    return device


def totp_qr_svg(device: TOTPDevice) -> str:
    return segno.make(device.config_url, error="m").svg_data_uri(scale=5)


def totp_secret_b32(device: TOTPDevice) -> str:
    from base64 import b32encode

    return b32encode(device.bin_key).decode()


@transaction.atomic
def totp_enrolment_confirm(*, request, user, code: str) -> list[str] | None:
    """Confirm the pending device with a code from the app; returns the new recovery codes."""
    device = totp_device(user, confirmed=False)
    if device is None or not device.verify_token(_clean(code)):
        return None
    TOTPDevice.objects.filter(user=user, confirmed=True).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = recovery_codes_regenerate(user=user, request=request, record=False)
    security_event_record(user=user, kind=SecurityEvent.Kind.MFA_ENROLLED, request=request)
    _mark_verified(request, device)
    return codes


def recovery_codes_regenerate(*, user, request=None, record: bool = True) -> list[str]:
    StaticDevice.objects.filter(user=user, name=RECOVERY_NAME).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _i in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=c) for c in codes])
    if record:
        security_event_record(user=user, kind=SecurityEvent.Kind.RECOVERY_REGENERATED, request=request)
    return codes


@transaction.atomic
def second_factor_remove(*, user, request=None) -> None:
    from django_otp_webauthn.models import WebAuthnCredential

    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user, name=RECOVERY_NAME).delete()
    WebAuthnCredential.objects.filter(user=user).delete()  # passkeys come on top of the app
    if request is not None and hasattr(request, "session"):
        request.session.pop(SESSION_VERIFIED_AT, None)
        request.session.pop(django_otp.DEVICE_ID_SESSION_KEY, None)
    security_event_record(user=user, kind=SecurityEvent.Kind.MFA_REMOVED, request=request)


# --- verification ---------------------------------------------------------------------------

def _clean(code: str) -> str:
    return "".join((code or "").split()).replace("-", "").lower()


def lockout_state(user) -> timezone.datetime | None:
    """When the person may try again, if they are locked out of second-factor checks: after
    MFA_LOCKOUT_FAILURES consecutive wrong codes (django-otp's per-device failure count, reset by
    a right code), for MFA_LOCKOUT_MINUTES after the last one."""
    limit = getattr(settings, "MFA_LOCKOUT_FAILURES", 5)
    window = timedelta(minutes=getattr(settings, "MFA_LOCKOUT_MINUTES", 15))
    for model in (TOTPDevice, StaticDevice):
        for count, last in model.objects.filter(user=user).values_list("throttling_failure_count",
                                                                      "throttling_failure_timestamp"):
            if count >= limit and last and last + window > timezone.now():
                return last + window
    return None


class VerifyResult:
    def __init__(self, ok: bool, message: str = "", device=None):
        self.ok, self.message, self.device = ok, message, device

    def __bool__(self):
        return self.ok


def second_factor_verify(*, request, user, code: str) -> VerifyResult:
    """Check a code from the authenticator app or a recovery code; on success the session is
    verified (and stepped up) now. Failures are recorded and lead to the lock-out."""
    locked_until = lockout_state(user)
    if locked_until:
        return VerifyResult(False, _("Too many wrong codes. Try again after %(time)s.")
                            % {"time": timezone.localtime(locked_until).strftime("%H:%M")})
    code = _clean(code)
    device = None
    totp = totp_device(user)
    if totp is not None and code.isdigit():
        allowed, info = totp.verify_is_allowed()
        if not allowed:
            return VerifyResult(False, _("Wait a few seconds before the next code."))
        if django_otp.verify_token(user, totp.persistent_id, code):
            device = totp
    elif code:
        recovery = StaticDevice.objects.filter(user=user, name=RECOVERY_NAME).first()
        if recovery is not None and django_otp.verify_token(user, recovery.persistent_id, code):
            device = recovery
            security_event_record(user=user, kind=SecurityEvent.Kind.RECOVERY_USED, request=request,
                                  detail=str(recovery_codes_left(user)))
    if device is None:
        security_event_record(user=user, kind=SecurityEvent.Kind.MFA_FAILED, request=request)
        if lockout_state(user):
            security_event_record(user=user, kind=SecurityEvent.Kind.MFA_LOCKED, request=request)
            return VerifyResult(False, _("Too many wrong codes: second-factor checks are locked for %(minutes)s "
                                         "minutes.") % {"minutes": getattr(settings, "MFA_LOCKOUT_MINUTES", 15)})
        return VerifyResult(False, _("That code is not right. Enter the current code from your authenticator app, "
                                     "or a recovery code."))
    _mark_verified(request, device)
    return VerifyResult(True, device=device)


def second_factor_passed(request, device) -> None:
    """Another kind of device (a passkey, accounts/passkeys.py) was used: the session is verified
    and stepped up now, as after a right code."""
    _mark_verified(request, device)


def _mark_verified(request, device) -> None:
    if request is None or not hasattr(request, "session") or getattr(request, "auth", None) is not None:
        return  # no session, or an API token: nothing to remember
    if getattr(request.user, "pk", None) == device.user_id:
        django_otp.login(request, device)
    request.session[SESSION_VERIFIED_AT] = int(time.time())
    request.session.pop(SESSION_PENDING, None)


def second_factor_pending_mark(request, user) -> None:
    """At sign-in: a person with a second factor must confirm it before going on."""
    if has_second_factor(user):
        request.session[SESSION_PENDING] = True


def session_verified(request) -> bool:
    return SESSION_VERIFIED_AT in getattr(request, "session", {})


def step_up_is_fresh(request) -> bool:
    stamp = getattr(request, "session", {}).get(SESSION_VERIFIED_AT)
    return bool(stamp) and time.time() - stamp <= step_up_seconds()
