"""Single sign-on per agency: the identity providers an agency admin links, and who may sign in.

Protocol work is Authlib's (agency/sso_providers.py). This module decides:
- which providers a sign-in page offers: by the work email's domain (the provider lists its
  domains) or by the agency's short name;
- who gets in after the provider vouched for them: a person already linked to that identity; a
  member of the agency with the verified email; an invitee of the agency with that email (the
  first sign-in accepts the invitation); with `auto_join` on, a person of one of the listed
  domains, who joins with `auto_join_role`. Everyone else is refused with a message saying why
  and what to do, and nothing is created.
- the second factor still applies after single sign-on: the session is marked like a password
  sign-in (accounts.mfa), so a person with an authenticator app confirms it, and the agency's
  required roles must enrol. Only where the admin turned on `trust_idp_mfa` and the ID token's
  `amr` claim says the provider checked a second factor (RFC 8176: mfa, otp, hwk, …) is that
  sign-in confirmation taken as done; step-ups (approving, tokens …) still need the person's own
  authenticator here.

The client secret is sealed (Fernet, key from settings.SSO_SEAL_KEYS or derived from
SECRET_KEY under its own label) and only the sign-in path unseals it.
"""

import base64
import hashlib
import logging
from urllib.parse import urlencode

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.contrib.auth import login
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scope, scopes_disabled

from accounts.mfa import SESSION_PENDING
from accounts.models import Membership, SecurityEvent, User
from accounts.roles import Role
from accounts.security import security_event_record
from agency.exceptions import Conflict, DomainValidationError
from agency.models import Agency, IdentityProvider, Invitation, MemberChange, SsoLink
from agency.services.members import invitation_accept
from agency.sso_providers import ADAPTERS, SsoError

logger = logging.getLogger(__name__)
SESSION_NEXT = "sso_next"
MASK = "••••••••"


class SsoRefused(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --- the sealed secret ----------------------------------------------------------------------


def _fernet() -> MultiFernet:
    keys = [k for k in getattr(settings, "SSO_SEAL_KEYS", []) if k]
    if not keys:
        derived = hashlib.sha256(
            b"mcn-shutdown/sso-client-secret/v1:" + settings.SECRET_KEY.encode()
        ).digest()
        keys = [base64.urlsafe_b64encode(derived).decode()]
    return MultiFernet([Fernet(k) for k in keys])


def secret_seal(raw: str) -> str:
    return _fernet().encrypt(raw.encode()).decode() if raw else ""


def secret_unseal(sealed: str) -> str:
    if not sealed:
        return ""
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except InvalidToken:
        return ""


# --- reads ----------------------------------------------------------------------------------


def identity_providers_for(agency) -> list[IdentityProvider]:
    """The agency's active identity providers (the invitation page offers them)."""
    with scope(agency=agency):
        return list(IdentityProvider.objects.filter(agency=agency, is_active=True))


def providers_all(agency) -> list[IdentityProvider]:
    return list(IdentityProvider.objects.filter(agency=agency).order_by("display_name"))


def providers_for_login(query: str) -> list[IdentityProvider]:
    """For the sign-in page: by a work email's domain, or by an agency's short name."""
    query = (query or "").strip().lower()
    if not query:
        return []
    with scopes_disabled():
        active = IdentityProvider.objects.filter(is_active=True, agency__is_active=True).select_related(
            "agency"
        )
        if "@" in query:
            domain = query.rsplit("@", 1)[1]
            return [p for p in active.filter(email_domains__icontains=domain) if domain in p.domains]
        return list(active.filter(agency__slug=query))


def provider_find(agency_slug: str, slug: str) -> IdentityProvider | None:
    with scopes_disabled():
        return (
            IdentityProvider.objects.select_related("agency")
            .filter(agency__slug=agency_slug, agency__is_active=True, slug=slug, is_active=True)
            .first()
        )


def password_login_refusal(user) -> str | None:
    """Registered with accounts.hooks: a member of an agency that turned passwords off (and has an
    identity provider linked) signs in through single sign-on. The agency owner keeps the password
    as a way back in when the provider is down (the second factor still applies)."""
    for m in Membership.objects.filter(user=user).select_related("agency"):
        if m.role == Role.OWNER or (m.agency.settings or {}).get("password_login_allowed", True):
            continue
        if identity_providers_for(m.agency):
            return _(
                "%(agency)s signs its members in with single sign-on: choose “Sign in with single sign-on”."
            ) % {"agency": m.agency.name}
    return None


# --- the admin's writes ---------------------------------------------------------------------

PROVIDER_FIELDS = (
    "kind",
    "slug",
    "display_name",
    "issuer",
    "client_id",
    "corp_id",
    "email_domains",
    "auto_join",
    "auto_join_role",
    "trust_idp_mfa",
    "is_active",
)


@transaction.atomic
def provider_save(
    *, agency, actor, data: dict, client_secret: str = "", provider: IdentityProvider | None = None
) -> IdentityProvider:
    """Create or change a provider. A blank secret keeps the stored one; a new one replaces it."""
    provider = provider or IdentityProvider(agency=agency)
    for name in PROVIDER_FIELDS:
        if name in data:
            setattr(provider, name, data[name])
    errors = {}
    if provider.kind == IdentityProvider.Kind.OIDC and not provider.issuer:
        errors["issuer"] = _("OpenID Connect needs the issuer or its discovery URL.")
    if provider.kind == IdentityProvider.Kind.WECOM and not provider.corp_id:
        errors["corp_id"] = _("WeCom needs the corporation ID.")
    if provider.auto_join and not provider.domains:
        errors["email_domains"] = _("List the email domains whose people may join by themselves.")
    if provider.auto_join_role not in Role.values or provider.auto_join_role == Role.OWNER:
        errors["auto_join_role"] = _("Choose a role other than agency owner.")
    if not client_secret and not provider.client_secret_sealed:
        errors["client_secret"] = _("Enter the client secret.")
    with scope(agency=agency):
        if (
            IdentityProvider.objects.filter(agency=agency, slug=provider.slug)
            .exclude(pk=provider.pk)
            .exists()
        ):
            errors["slug"] = _("Another provider of this agency has this short name.")
    if errors:
        raise DomainValidationError("; ".join(str(v) for v in errors.values()), details=errors)
    created = provider.pk is None
    if client_secret:
        provider.client_secret_sealed = secret_seal(client_secret.strip())
    provider.save()
    _config_event(
        actor,
        agency,
        f"{provider.display_name} ({provider.get_kind_display()}): "
        + ("linked" if created else "changed")
        + (", new client secret" if client_secret else ""),
    )
    logger.info("identity provider saved", extra={"agency": agency.slug, "provider": provider.slug})
    return provider


def _config_event(actor, agency, what: str) -> None:
    """The admin's change, as a security event of theirs (the owner sees it on the security page)."""
    if actor is not None:
        security_event_record(
            user=actor, kind=SecurityEvent.Kind.SSO_CONFIG, detail=f"{agency.slug} · {what}"
        )


@transaction.atomic
def provider_delete(*, agency, actor, provider: IdentityProvider) -> None:
    """Remove a provider (its links go with it). With no active provider left, members get their
    passwords back: turning passwords off only makes sense while single sign-on works."""
    with scope(agency=agency):
        provider.delete()
    _config_event(actor, agency, f"{provider.display_name}: removed")
    if not identity_providers_for(agency) and not (agency.settings or {}).get("password_login_allowed", True):
        sso_password_login_set(agency=agency, actor=actor, allowed=True)


def sso_password_login_set(*, agency, actor, allowed: bool) -> None:
    """Whether members may also log in with a password; off needs an active provider."""
    if not allowed and not identity_providers_for(agency):
        raise DomainValidationError(_("Link an active identity provider before turning passwords off."))
    agency.settings = {**(agency.settings or {}), "password_login_allowed": bool(allowed)}
    agency.save(update_fields=["settings"])
    _config_event(actor, agency, "passwords allowed" if allowed else "passwords turned off")


# --- signing in -----------------------------------------------------------------------------


def callback_uri(request, provider) -> str:
    return request.build_absolute_uri(
        reverse("sso_callback", kwargs={"agency_slug": provider.agency.slug, "provider": provider.slug})
    )


def _adapter(provider):
    return ADAPTERS[provider.kind](provider, secret_unseal(provider.client_secret_sealed))


def sso_begin(*, request, provider: IdentityProvider, next_url: str = "") -> str:
    """Where to send the browser: the provider's authorization URL (state kept in the session)."""
    request.session[SESSION_NEXT] = next_url
    try:
        return _adapter(provider).authorize_url(request, callback_uri(request, provider))
    except SsoError as exc:
        logger.warning("sso begin failed", extra={"provider": provider.pk, "reason": str(exc)})
        raise SsoRefused(
            _(
                "%(provider)s cannot be reached right now. Try again in a moment, or ask your "
                "agency admin to check the single sign-on settings."
            )
            % {"provider": provider.display_name}
        ) from exc


def _refuse(message: str, provider, reason: str = ""):
    logger.info("sso refused", extra={"provider": provider.pk, "reason": reason or message})
    raise SsoRefused(message)


@transaction.atomic
def _resolve_user(provider: IdentityProvider, identity, signed_in=None) -> User:
    agency = provider.agency
    with scope(agency=agency):
        link = (
            SsoLink.objects.select_related("user").filter(provider=provider, subject=identity.subject).first()
        )
        if signed_in is not None and link is not None and link.user_id != signed_in.pk:
            _refuse(
                _("This %(provider)s identity is linked to another account.")
                % {"provider": provider.display_name},
                provider,
                reason="linked elsewhere",
            )
        if signed_in is not None and link is None:
            # a signed-in member links their own identity (whatever email the provider reports)
            if not Membership.objects.filter(user=signed_in, agency=agency).exists():
                _refuse(
                    _("You are not a member of %(agency)s.") % {"agency": agency.name},
                    provider,
                    reason="link by a non-member",
                )
            SsoLink.objects.create(
                agency=agency,
                provider=provider,
                subject=identity.subject,
                user=signed_in,
                last_login_at=timezone.now(),
            )
            return signed_in
        if link is not None:
            user = link.user
            if not Membership.objects.filter(user=user, agency=agency).exists():
                _refuse(
                    _("You are no longer a member of %(agency)s. Ask its admin for a new invitation.")
                    % {"agency": agency.name},
                    provider,
                    reason="link without membership",
                )
            link.last_login_at = timezone.now()
            link.save(update_fields=["last_login_at"])
            return user
        email = identity.email
        if not email or not identity.email_verified:
            _refuse(
                _(
                    "%(provider)s did not tell us a verified email address for you, so we cannot find your "
                    "account. Ask your agency admin."
                )
                % {"provider": provider.display_name},
                provider,
                reason="no verified email",
            )
        user = User.objects.filter(email__iexact=email).first()
        is_member = user is not None and Membership.objects.filter(user=user, agency=agency).exists()
        if user is not None and Membership.objects.filter(user=user).exclude(agency=agency).exists():
            # One agency's identity provider must not open another agency's door: a person who also
            # belongs elsewhere links the identity once while signed in (then the link is used).
            _refuse(
                _(
                    "Your account also belongs to other agencies. Log in with your password once, then choose "
                    "“Sign in with single sign-on” on your security page to link %(provider)s; after that single "
                    "sign-on works."
                )
                % {"provider": provider.display_name},
                provider,
                reason="member of other agencies",
            )
        if not is_member:
            invitation = (
                Invitation.objects.filter(
                    agency=agency,
                    email__iexact=email,
                    accepted_at__isnull=True,
                    revoked_at__isnull=True,
                    expires_at__gt=timezone.now(),
                )
                .order_by("-created_at")
                .first()
            )
            domain_ok = email.rsplit("@", 1)[-1] in provider.domains
            if invitation is None and not (provider.auto_join and domain_ok):
                _refuse(
                    _(
                        "%(email)s is not a member of %(agency)s. Ask an admin of the agency to invite you, "
                        "then sign in again."
                    )
                    % {"email": email, "agency": agency.name},
                    provider,
                    reason="unknown person",
                )
            if user is None:
                user = User.objects.create_user(email=email, password=None, full_name=identity.name[:150])
            if invitation is not None:
                try:
                    invitation_accept(invitation=invitation, user=user)
                except Conflict as exc:
                    _refuse(exc.message, provider, reason="invitation")
            else:
                Membership.objects.create(user=user, agency=agency, role=provider.auto_join_role)
                MemberChange.objects.create(
                    agency=agency,
                    kind=MemberChange.Kind.JOINED,
                    email=user.email,
                    new_role=provider.auto_join_role,
                    actor=user,
                )
        SsoLink.objects.create(
            agency=agency,
            provider=provider,
            subject=identity.subject,
            user=user,
            last_login_at=timezone.now(),
        )
        return user


def sso_complete(*, request, provider: IdentityProvider) -> tuple[User, str]:
    """Finish the sign-in on the way back from the provider; returns the user and where to go."""
    try:
        identity = _adapter(provider).identity(request, callback_uri(request, provider))
    except SsoError as exc:
        logger.warning("sso callback failed", extra={"provider": provider.pk, "reason": str(exc)})
        raise SsoRefused(
            _("The sign-in with %(provider)s did not complete. Start again from the sign-in page.")
            % {"provider": provider.display_name}
        ) from exc
    signed_in = request.user if request.user.is_authenticated else None
    user = _resolve_user(provider, identity, signed_in=signed_in)
    if not user.is_active:
        raise SsoRefused(_("This account is disabled."))
    next_url = request.session.pop(SESSION_NEXT, "") or ""
    if signed_in is None:
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")  # second factor: pending
        if provider.trust_idp_mfa and identity.idp_did_mfa:
            request.session.pop(SESSION_PENDING, None)
    security_event_record(
        user=user,
        kind=SecurityEvent.Kind.SSO_LOGIN,
        request=request,
        detail=f"{provider.display_name} · {provider.agency.slug}"
        + (" · amr=" + ",".join(identity.amr) if identity.amr else ""),
    )
    return user, next_url or reverse("backoffice:dashboard", kwargs={"agency_slug": provider.agency.slug})


def sso_start_url(provider: IdentityProvider, next_url: str = "") -> str:
    url = reverse("sso_login", kwargs={"agency_slug": provider.agency.slug, "provider": provider.slug})
    return url + ("?" + urlencode({"next": next_url}) if next_url else "")


def agency_by_slug(slug: str) -> Agency | None:
    return Agency.objects.filter(slug=slug, is_active=True).first()
