import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
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


class AccountStage(models.TextChoices):
    """R9.4: the account's stage of life (optional)."""

    GROWING = "growing", _("Growing")
    MATURE = "mature", _("Mature")
    DECLINING = "declining", _("Declining")


class IncomeNeed(models.TextChoices):
    """R9.4: whether the account still has to earn money (optional)."""

    HIGH = "high", _("Must keep earning")
    LOW = "low", _("No need to earn")


class ContentCost(models.TextChoices):
    """R9.4: what producing the account's content costs (optional)."""

    HIGH = "high", _("High")
    MEDIUM = "medium", _("Medium")
    LOW = "low", _("Low")


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
    # R9.4 decision model (optional): weighed by the recommendation between shutdown and its alternatives
    stage = models.CharField(_("account stage"), max_length=16, choices=AccountStage.choices, blank=True)
    income_need = models.CharField(_("need to earn money"), max_length=8, choices=IncomeNeed.choices, blank=True)
    content_cost = models.CharField(_("content production cost"), max_length=8, choices=ContentCost.choices,
                                    blank=True)

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
            # The list's default order (platform, name, id) read from the index: the first page of
            # 100,000 accounts without sorting them all; it also serves platform filters.
            models.Index(fields=["agency", "platform", "display_name", "id"], name="subaccount_list_order"),
            models.Index(fields=["agency", "followers"]),
            # The live accounts' count (every list page) and the dashboard's breakdown by status and
            # platform, read from the index alone instead of a pass over 100,000 rows.
            models.Index(fields=["agency", "status", "platform"], name="subaccount_live_counts",
                         condition=models.Q(archived_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.get_platform_display()})"


class SubAccountTag(AgencyOwned):
    """The tag index: one row per (account, tag), so that "accounts tagged X" is an indexed
    lookup on SQLite and PostgreSQL alike. `SubAccount.tags` (a JSON list) stays the value
    the API and the pages show; `agency.services.tags.subaccount_tags_reindex` keeps this
    table in step with it (a post_save hook for single saves, explicit calls for bulk writes)."""

    subaccount = models.ForeignKey(SubAccount, on_delete=models.CASCADE, related_name="tag_links")
    name = models.CharField(_("tag"), max_length=50)

    class Meta:
        verbose_name = _("sub-account tag")
        verbose_name_plural = _("sub-account tags")
        constraints = [
            models.UniqueConstraint(fields=["agency", "subaccount", "name"], name="subaccounttag_unique"),
        ]
        indexes = [models.Index(fields=["agency", "name", "subaccount"], name="subaccounttag_agency_name")]

    def __str__(self) -> str:
        return self.name


def import_file_path(batch, filename: str) -> str:
    """Where an uploaded spreadsheet waits for its confirmation: under its agency, under a name
    nobody can guess (the user's file name stays on the row, not in the path)."""
    import secrets
    from pathlib import PurePath

    suffix = PurePath(filename).suffix.lower()
    suffix = suffix if suffix in {".csv", ".xlsx", ".txt"} else ""
    return f"imports/agency_{batch.agency_id}/{secrets.token_hex(16)}{suffix}"


class SubAccountImport(AgencyOwned):
    """An uploaded spreadsheet between preview and confirmation (and afterwards, as a record).

    The file itself waits in Django's storage (`file`: local disk, or the bucket when
    STORAGE_S3_BUCKET is set), so any web host or worker can confirm it; it is deleted once the
    import is applied, cancelled or expired (agency.services.imports, the jobs sweep)."""

    class Status(models.TextChoices):
        PREVIEWED = "previewed", _("Previewed")
        APPLIED = "applied", _("Applied")
        CANCELLED = "cancelled", _("Cancelled")
        EXPIRED = "expired", _("Expired")

    original_name = models.CharField(_("file name"), max_length=255)
    file = models.FileField(_("file"), upload_to=import_file_path, max_length=300, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PREVIEWED)
    result = models.JSONField(_("result"), default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(_("applied at"), null=True, blank=True)

    class Meta:
        verbose_name = _("sub-account import")
        verbose_name_plural = _("sub-account imports")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["agency", "created_at"])]

    def __str__(self) -> str:
        return self.original_name


class SubAccountChange(AgencyOwned):
    """History: who changed which sub-account, when, how, and old → new per field."""

    class Action(models.TextChoices):
        CREATED = "created", _("Created")
        EDITED = "edited", _("Edited")
        IMPORTED = "imported", _("Imported")
        BULK_TAG = "bulk_tag", _("Tags changed in bulk")
        BULK_OWNER = "bulk_owner", _("Owner contact changed in bulk")
        ARCHIVED = "archived", _("Archived")
        RESTORED = "restored", _("Restored")
        STATUS = "status", _("Status changed by a shutdown task")

    subaccount = models.ForeignKey(SubAccount, on_delete=models.CASCADE, related_name="changes")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("by"),
    )
    action = models.CharField(_("action"), max_length=16, choices=Action.choices)
    changes = models.JSONField(_("changes"), default=dict, blank=True, help_text=_("field → [old, new]"))
    import_batch = models.ForeignKey(
        SubAccountImport, null=True, blank=True, on_delete=models.SET_NULL, related_name="changes"
    )
    created_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("sub-account change")
        verbose_name_plural = _("sub-account changes")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["agency", "subaccount", "created_at"], name="subaccountchange_account")]

    def __str__(self) -> str:
        return f"{self.subaccount_id} {self.action} {self.created_at:%Y-%m-%d %H:%M}"


class AgencyAuditEvent(AgencyOwned):
    """Agency-level audit records (not tied to a task), e.g. an export that showed account
    holders' unmasked mobile numbers and emails (PIPL)."""

    class Action(models.TextChoices):
        EXPORT_UNMASKED = "export_unmasked", _("Export with unmasked personal data")

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", verbose_name=_("by"))
    action = models.CharField(_("action"), max_length=32, choices=Action.choices)
    data = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("agency audit event")
        verbose_name_plural = _("agency audit events")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["agency", "created_at"], name="agencyaudit_agency_created")]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_id} at {self.created_at:%Y-%m-%d %H:%M}"


class Invitation(AgencyOwned):
    """An invitation by email to join the agency with a role: a single-use link that expires.
    Only a hash of the link's secret is stored; resending makes a new link (the old one stops)."""

    email = models.EmailField(_("email"))
    role = models.CharField(_("role"), max_length=16)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} ({self.role})"

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > timezone.now()


class MemberChange(AgencyOwned):
    """Who changed the agency's members, and when: invitations, joins, role changes, removals."""

    class Kind(models.TextChoices):
        INVITED = "invited", _("Invited")
        INVITATION_RESENT = "resent", _("Invitation sent again")
        INVITATION_REVOKED = "revoked", _("Invitation withdrawn")
        JOINED = "joined", _("Joined")
        ROLE_CHANGED = "role", _("Role changed")
        REMOVED = "removed", _("Removed")

    kind = models.CharField(max_length=10, choices=Kind.choices)
    email = models.EmailField(_("member"))
    old_role = models.CharField(max_length=16, blank=True)
    new_role = models.CharField(max_length=16, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+",
                              verbose_name=_("by"))
    created_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("member change")
        verbose_name_plural = _("member changes")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email}: {self.get_kind_display()}"


def job_file_path(job, filename: str) -> str:
    """Where a job's result file lives in storage: under its agency, never guessable across jobs."""
    import secrets

    return f"jobs/{job.agency_id}/{job.pk or 'new'}-{secrets.token_hex(8)}/{filename}"


class Job(AgencyOwned):
    """Work too big for a web request (a large import, export or bulk action), run by a Celery
    worker (agency.services.jobs). The row is the source of truth: its state, progress, result
    and error are what the job page and the API show; a lost broker message is re-sent by the
    sweep (agency/beat.py)."""

    class Kind(models.TextChoices):
        IMPORT_CHECK = "subaccount_import_check", _("Sub-account import: checking the file")
        IMPORT = "subaccount_import", _("Sub-account import")
        EXPORT = "subaccount_export", _("Sub-account export")
        BULK_TAG = "subaccount_bulk_tag", _("Tags changed in bulk")
        BULK_OWNER = "subaccount_bulk_owner", _("Owner contact changed in bulk")

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    class Stage(models.TextChoices):
        CHECKING = "checking", _("Checking the rows")
        WRITING = "writing", _("Writing")

    FINISHED = (State.SUCCEEDED, State.FAILED, State.CANCELLED)

    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.QUEUED)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("by"))
    language = models.CharField(max_length=16, blank=True, help_text="the requester's language, for messages")
    params = models.JSONField(default=dict, blank=True)
    stage = models.CharField(_("stage"), max_length=16, choices=Stage.choices, blank=True)
    progress_done = models.PositiveIntegerField(_("done"), default=0)
    progress_total = models.PositiveIntegerField(_("total"), default=0)
    result = models.JSONField(_("result"), default=dict, blank=True)
    result_file = models.FileField(_("result file"), upload_to=job_file_path, max_length=300, blank=True)
    result_filename = models.CharField(max_length=255, blank=True)
    result_content_type = models.CharField(max_length=120, blank=True)
    error = models.TextField(_("error"), blank=True)
    time_budget_seconds = models.PositiveIntegerField(_("time limit (seconds)"))
    row_budget = models.PositiveIntegerField(_("row limit"))
    cancel_requested = models.BooleanField(default=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("background job")
        verbose_name_plural = _("background jobs")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["agency", "created_by", "created_at"], name="job_agency_user_created"),
            models.Index(fields=["state", "created_at"], name="job_state_created"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.state})"

    def get_kind_display(self) -> str:
        """The kind's label: Job.Kind's, or the one an app above registered (agency.jobs_registry)."""
        if self.kind in self.Kind.values:
            return str(self.Kind(self.kind).label)
        from agency.jobs_registry import job_kind

        spec = job_kind(self.kind)
        return str(spec.label) if spec else self.kind

    @property
    def is_finished(self) -> bool:
        return self.state in self.FINISHED

    @property
    def progress_percent(self) -> int:
        if self.state == self.State.SUCCEEDED:
            return 100
        if not self.progress_total:
            return 0
        return min(100, int(100 * self.progress_done / self.progress_total))


# Top-level names for the API schema's enums (settings.SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]).
JobKind = Job.Kind
JobState = Job.State
JobStage = Job.Stage


class IdentityProvider(AgencyOwned):
    """A single sign-on provider linked to the agency by an agency admin (agency/sso.py).

    The client secret is stored sealed (Fernet) and never shown again: pages, the admin and logs
    see only whether one is set. `email_domains` lists the domains whose people may pick this
    provider on the sign-in page; with `auto_join` on, an unknown person of one of those domains
    joins the agency with `auto_join_role` on first sign-in (otherwise only members and invitees
    get in)."""

    class Kind(models.TextChoices):
        OIDC = "oidc", _("OpenID Connect")
        DINGTALK = "dingtalk", _("DingTalk")
        FEISHU = "feishu", _("Feishu")
        WECOM = "wecom", _("WeCom")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.OIDC)
    slug = models.SlugField(_("short name"), max_length=40)
    display_name = models.CharField(_("name on the sign-in button"), max_length=100)
    issuer = models.URLField(_("issuer or discovery URL"), max_length=300, blank=True)
    client_id = models.CharField(_("client ID"), max_length=200)
    client_secret_sealed = models.TextField(blank=True)
    corp_id = models.CharField(_("corporation ID (WeCom)"), max_length=100, blank=True)
    email_domains = models.CharField(_("email domains"), max_length=300, blank=True)
    auto_join = models.BooleanField(_("let unknown people of these domains join"), default=False)
    auto_join_role = models.CharField(_("role of people who join this way"), max_length=16, default="auditor")
    trust_idp_mfa = models.BooleanField(_("accept the provider's second factor at sign-in"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("identity provider")
        verbose_name_plural = _("identity providers")
        ordering = ["display_name"]
        constraints = [models.UniqueConstraint(fields=["agency", "slug"], name="idp_unique_slug_per_agency")]

    def __str__(self) -> str:
        return self.display_name

    @property
    def domains(self) -> list[str]:
        return [d.strip().lower().lstrip("@") for d in self.email_domains.replace(";", ",").split(",") if d.strip()]

    @property
    def has_secret(self) -> bool:
        return bool(self.client_secret_sealed)


class SsoLink(AgencyOwned):
    """A person's identity at a provider (its stable subject), bound to a user on first sign-in."""

    provider = models.ForeignKey(IdentityProvider, on_delete=models.CASCADE, related_name="links")
    subject = models.CharField(max_length=255)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    last_login_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["agency", "provider", "subject"],
                                               name="sso_link_unique_subject")]

    def __str__(self) -> str:
        return f"{self.provider_id}:{self.subject}"
