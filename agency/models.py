import zoneinfo

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from accounts.models import validate_mobile


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("“%(value)s” is not a time zone."), params={"value": value})


class Agency(models.Model):
    """The tenant. Every tenant-owned row carries `agency_id`."""

    slug = models.SlugField(_("slug"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=200)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai", validators=[validate_time_zone])
    settings = models.JSONField(_("settings"), default=dict, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("agency")
        verbose_name_plural = _("agencies")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class AgencyOwned(models.Model):
    """Base for every tenant-owned model: `agency` FK plus the fail-closed scoped manager.

    `objects` raises django_scopes.ScopeError when no agency scope is active.
    """

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+", verbose_name=_("agency"))

    objects = ScopedManager(agency="agency")

    class Meta:
        abstract = True


class Platform(models.TextChoices):
    WEIBO = "weibo", _("Weibo video account")
    DOUYIN = "douyin", _("Douyin")
    KUAISHOU = "kuaishou", _("Kuaishou")
    WECHAT = "wechat", _("WeChat Official Account / Channels")
    BILIBILI = "bilibili", _("Bilibili")
    XIAOHONGSHU = "xiaohongshu", _("Xiaohongshu")


class AccountKind(models.TextChoices):
    PERSONAL = "personal", _("Personal")
    ENTERPRISE = "enterprise", _("Enterprise")
    THIRD_PARTY = "third_party", _("Third-party authorised")


class Region(models.TextChoices):
    DOMESTIC = "domestic", _("Domestic")
    INTERNATIONAL = "international", _("International")


class SubAccountStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    DORMANT = "dormant", _("Dormant")
    RESTRICTED = "restricted", _("Restricted")
    SHUTDOWN_PENDING = "shutdown_pending", _("Shutdown pending")
    SHUT_DOWN = "shut_down", _("Shut down")


class OwnerRelation(models.TextChoices):
    CREATOR = "creator", _("Creator")
    LEGAL_REPRESENTATIVE = "legal_representative", _("Legal representative")
    HEIR = "heir", _("Heir")
    AGENT = "agent", _("Agent")


class SubAccount(AgencyOwned):
    """One creator account on one platform, with every fact the shutdown rules read."""

    # identity
    platform = models.CharField(_("platform"), max_length=16, choices=Platform.choices)
    platform_account_id = models.CharField(_("platform account id"), max_length=100)
    display_name = models.CharField(_("display name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=AccountKind.choices, default=AccountKind.PERSONAL)
    region = models.CharField(_("region"), max_length=16, choices=Region.choices, default=Region.DOMESTIC)
    country = models.CharField(_("country"), max_length=2, blank=True, help_text=_("ISO 3166 code, e.g. CN"))
    followers = models.PositiveIntegerField(_("followers"), default=0)
    blue_v = models.BooleanField(_("blue-V certified"), default=False)
    high_risk = models.BooleanField(_("high public-opinion risk"), default=False)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children",
        verbose_name=_("main account"),
    )
    status = models.CharField(_("status"), max_length=20, choices=SubAccountStatus.choices, default=SubAccountStatus.ACTIVE)
    tags = models.JSONField(_("tags"), default=list, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True)
    # owner
    owner_name = models.CharField(_("owner name"), max_length=100, blank=True)
    owner_mobile = models.CharField(_("owner mobile"), max_length=20, blank=True, validators=[validate_mobile])
    owner_email = models.EmailField(_("owner email"), blank=True)
    owner_relation = models.CharField(
        _("owner relation"), max_length=24, choices=OwnerRelation.choices, default=OwnerRelation.CREATOR
    )
    # what the rules read
    live_streaming = models.BooleanField(_("live-streaming permission"), default=False)
    unwithdrawn_earnings = models.DecimalField(
        _("unwithdrawn earnings (CNY)"), max_digits=14, decimal_places=2, default=0, validators=[MinValueValidator(0)]
    )
    pending_ad_revenue = models.DecimalField(
        _("pending ad revenue (CNY)"), max_digits=14, decimal_places=2, default=0, validators=[MinValueValidator(0)]
    )
    hosted_topics = models.PositiveIntegerField(_("hosted topics"), default=0)
    bound_mini_programs = models.PositiveIntegerField(_("bound mini-programs"), default=0)
    third_party_authorisations = models.PositiveIntegerField(_("third-party authorisations"), default=0)
    api_anomaly = models.BooleanField(_("API call anomaly"), default=False)
    mcn_contract_end = models.DateField(_("MCN contract end"), null=True, blank=True)
    open_infringement_complaints = models.PositiveIntegerField(_("open infringement complaints"), default=0)
    pending_orders = models.PositiveIntegerField(_("pending commercial orders"), default=0)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("sub-account")
        verbose_name_plural = _("sub-accounts")
        ordering = ["platform", "display_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "platform", "platform_account_id"], name="subaccount_unique_platform_id"
            ),
            models.CheckConstraint(condition=models.Q(unwithdrawn_earnings__gte=0), name="subaccount_earnings_gte_0"),
            models.CheckConstraint(condition=models.Q(pending_ad_revenue__gte=0), name="subaccount_ad_revenue_gte_0"),
        ]
        indexes = [
            models.Index(fields=["agency", "status"]),
            models.Index(fields=["agency", "platform"]),
            models.Index(fields=["agency", "followers"]),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.get_platform_display()})"
