import phonenumbers
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .roles import Role


def normalise_mobile(value: str, region: str = "CN") -> str:
    """Parse a mobile number as people type it and return E.164, or raise ValidationError."""
    value = (value or "").strip()
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(_("“%(value)s” is not a phone number."), params={"value": value}) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(_("“%(value)s” is not a valid phone number."), params={"value": value})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def validate_mobile(value: str) -> None:
    normalise_mobile(value)


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An email address is required")
        email = self.normalize_email(email).lower()
        user = self.model(email=email, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in to the back office. Platform operators are `is_staff`."""

    email = models.EmailField(_("email"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    mobile = models.CharField(
        _("mobile"), max_length=20, blank=True, validators=[validate_mobile],
        help_text=_("Stored in E.164 form, e.g. +8613800138000."),
    )
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, blank=True)
    is_staff = models.BooleanField(_("platform operator"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.full_name or self.email

    def clean(self):
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()
        if self.mobile:
            self.mobile = normalise_mobile(self.mobile)

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name or self.email


class Membership(models.Model):
    """A user's role in one agency.

    Deliberately *not* behind the agency scope: it is the table that decides which
    scope a request may enter (like PostHog's OrganizationMembership). Every read is
    filtered explicitly: by the requesting user (accounts.selectors, agency.tenancy) or by
    the one agency a service works for (its members, for approvers and reminders).
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    agency = models.ForeignKey("agency.Agency", on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [models.UniqueConstraint(fields=["agency", "user"], name="membership_unique_user")]
        indexes = [models.Index(fields=["user", "agency"])]

    def __str__(self) -> str:
        return f"{self.user} @ {self.agency} ({self.role})"


class ApiTokenQuerySet(models.QuerySet):
    def live(self):
        now = timezone.now()
        return self.filter(revoked_at__isnull=True, expires_at__gt=now)


class ApiToken(models.Model):
    """A personal API token for one agency. Only a SHA-256 hash of the secret is stored;
    the raw token is shown once, when it is created (accounts.tokens)."""

    TENANCY_EXEMPT_REASON = (
        "found by its hash before any agency is known; every other read names the user or the agency"
    )

    class Scope(models.TextChoices):
        READ_ONLY = "read", _("Read-only")
        ROLE = "role", _("Everything my role allows")

    class RevokedReason(models.TextChoices):
        BY_USER = "user", _("Revoked by its owner")
        MEMBER_REMOVED = "removed", _("The member left the agency")
        ROLE_LOWERED = "role", _("The member's role was lowered")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    agency = models.ForeignKey("agency.Agency", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=100)
    scope = models.CharField(_("scope"), max_length=8, choices=Scope.choices, default=Scope.READ_ONLY)
    prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"))
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_reason = models.CharField(max_length=8, choices=RevokedReason.choices, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        indexes = [models.Index(fields=["user", "agency"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()

    @property
    def read_only(self) -> bool:
        return self.scope == self.Scope.READ_ONLY


class UserSession(models.Model):
    """One signed-in browser of a user, so that a user can see and end their sessions and a
    removed member is signed out everywhere (Django's sessions are not indexed by user)."""

    TENANCY_EXEMPT_REASON = "a person's sign-ins, across agencies"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sessions")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(default=timezone.now)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("session")
        verbose_name_plural = _("sessions")

    def __str__(self) -> str:
        return f"{self.user} · {self.created_at:%Y-%m-%d %H:%M}"


class SecurityEvent(models.Model):
    """Something that changed or tested a person's sign-in: seen by the user and, for the
    agencies they belong to, by the agency's owners."""

    TENANCY_EXEMPT_REASON = "a person's own record, across agencies; owners read it through their members"

    class Kind(models.TextChoices):
        MFA_ENROLLED = "mfa_enrolled", _("Authenticator app added")
        MFA_REMOVED = "mfa_removed", _("Authenticator app removed")
        MFA_FAILED = "mfa_failed", _("Wrong second-factor code")
        MFA_LOCKED = "mfa_locked", _("Second factor locked after repeated wrong codes")
        RECOVERY_USED = "recovery_used", _("Recovery code used")
        RECOVERY_REGENERATED = "recovery_new", _("New recovery codes made")
        TOKEN_CREATED = "token_created", _("API token created")
        TOKEN_REVOKED = "token_revoked", _("API token revoked")
        SESSIONS_ENDED = "sessions_ended", _("Sessions signed out")
        SSO_LOGIN = "sso_login", _("Signed in through single sign-on")
        SSO_CONFIG = "sso_config", _("Single sign-on settings changed")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="security_events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    detail = models.CharField(max_length=300, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("security event")
        verbose_name_plural = _("security events")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "kind", "created_at"])]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_kind_display()}"
