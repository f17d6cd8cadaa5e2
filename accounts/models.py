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
