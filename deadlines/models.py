"""Deadlines, reminder rules, monitoring (R2, R3, R5.1, R7.2, R8, R9)."""

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from agency.models import AgencyOwned


# --- Deadlines ---------------------------------------------------------------------------
class DeadlineKind(models.TextChoices):
    DRAFTS_EXPIRE = "drafts_expire", _("Drafts expire (R2.1)")
    EARNINGS_SETTLEMENT = "earnings_settlement", _("Earnings settlement (R3.1)")
    AD_REVENUE = "ad_revenue", _("Ad revenue (R3.2)")
    TOPIC_TRANSFER_REVOCABLE = "topic_transfer_revocable", _("Topic-host transfer revocable (R3.3)")
    INTERACTION_DATA = "interaction_data", _("Interaction data kept (R2.3)")
    FAN_PROFILE = "fan_profile", _("Fan profile kept (R2.4)")
    # R9.2: the end of the shell transition, when the shutdown is scheduled (stored when the
    # transition is chosen, before the shutdown), and the follower-migration check-ins before it.
    SHELL_TRANSITION = "shell_transition", _("Shell transition ends: shutdown scheduled (R9.2)")
    SHELL_CHECKIN = "shell_checkin", _("Follower migration check-in (R9.2)")
    REOPEN_BLOCKED = "reopen_blocked", _("No reopening (R9.3)")
    DORMANT_LOGIN = "dormant_login", _("Dormant account login (R5.1)")
    DELAYED_REVIEW = "delayed_review", _("Delayed review (R7.2)")
    MONITOR_ACTIVITY = "monitor_activity", _("Activity monitoring (R8)")
    MONITOR_API = "monitor_api", _("API call monitoring (R8)")
    MONITOR_COMMERCIAL = "monitor_commercial", _("Commercial monitoring (R8)")


class Deadline(AgencyOwned):
    """One stored countdown of one account, created when its shutdown item takes effect."""

    sub_account = models.ForeignKey("agency.SubAccount", on_delete=models.CASCADE, related_name="deadlines")
    task = models.ForeignKey("shutdown.ShutdownTask", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="deadlines")
    item = models.ForeignKey("shutdown.TaskItem", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="deadlines")
    kind = models.CharField(_("kind"), max_length=32, choices=DeadlineKind.choices)
    rule = models.CharField(_("rule"), max_length=8)
    label = models.CharField(_("label"), max_length=200)
    note = models.CharField(_("note"), max_length=300, blank=True)
    effective_at = models.DateTimeField(_("effective at"))
    due_at = models.DateTimeField(_("due at"))
    provisional = models.BooleanField(
        _("provisional"), default=False,
        help_text=_("Counted across a year without official calendar data; recomputed when it arrives."),
    )
    working_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text=_("Set when the deadline is counted in working days.")
    )
    # A recurring deadline (R5.1 dormant login) is completed when done or missed; the next one follows.
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    # The calendar version (rulebook.models.CalendarVersion) a working-day deadline was counted
    # on: a recount after any calendar change visits exactly the deadlines counted on another one.
    calendar_version = models.CharField(max_length=32, blank=True, default="")
    # The ICS SEQUENCE of this deadline's event: raised each time its date moves (a recount), so
    # calendar apps subscribed to the feed replace the event instead of keeping the old date.
    sequence = models.PositiveIntegerField(default=0)
    # data["changes"]: the date moves, newest last ({"at", "from", "to", "provisional", "change"}).
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("deadline")
        verbose_name_plural = _("deadlines")
        ordering = ["due_at", "id"]
        constraints = [
            # One deadline per item and kind; the monthly dormant login (R5.1) recurs: one open at a time.
            # The shell check-ins of R9.2 are several per item (one per interval of the transition).
            models.UniqueConstraint(fields=["agency", "item", "kind"],
                                    condition=~models.Q(kind__in=["dormant_login", "shell_checkin"]),
                                    name="deadline_unique_item_kind"),
            models.UniqueConstraint(fields=["agency", "item", "kind"],
                                    condition=models.Q(kind="dormant_login", completed_at__isnull=True),
                                    name="deadline_one_open_dormant_login"),
        ]
        indexes = [
            models.Index(fields=["agency", "due_at"]),
            models.Index(fields=["agency", "sub_account", "kind"]),
            models.Index(fields=["due_at"], condition=models.Q(provisional=True), name="deadline_provisional_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.due_at:%Y-%m-%d}"

    @property
    def date_changes(self) -> list[dict]:
        """The recorded moves of the due date, each with the words saying why."""
        from datetime import datetime

        from rulebook.signals import calendar_change_text

        return [{"at": datetime.fromisoformat(c["at"]), "from": datetime.fromisoformat(c["from"]),
                 "to": datetime.fromisoformat(c["to"]), "provisional": c.get("provisional", False),
                 "why": calendar_change_text(c.get("change"))} for c in (self.data or {}).get("changes", [])]


class ReminderRule(AgencyOwned):
    """When, how and to whom a deadline is reminded. Empty `deadline_kind` = every kind."""

    deadline_kind = models.CharField(_("deadline kind"), max_length=32, choices=DeadlineKind.choices, blank=True)
    days_before = models.PositiveSmallIntegerField(_("days before"), help_text=_("0 = the morning of the due date"))
    channels = models.JSONField(_("channels"), default=list)
    recipient_roles = models.JSONField(_("recipient roles"), default=list)
    notify_owner = models.BooleanField(_("notify the sub-account owner"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("reminder rule")
        verbose_name_plural = _("reminder rules")
        ordering = ["deadline_kind", "-days_before"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "deadline_kind", "days_before"], name="reminderrule_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.deadline_kind or '*'} -{self.days_before}d"


# --- Monitoring after the shutdown (R8) -----------------------------------------------------
class Metric(models.TextChoices):
    FOLLOWERS = "followers", _("Followers")
    UNAUTHORISED_API_CALLS = "unauthorised_api_calls", _("Calls through unauthorised interfaces")
    PENDING_ORDERS = "pending_orders", _("Orders awaiting fulfilment")


class MetricSample(AgencyOwned):
    sub_account = models.ForeignKey("agency.SubAccount", on_delete=models.CASCADE, related_name="metric_samples")
    metric = models.CharField(_("metric"), max_length=32, choices=Metric.choices)
    value = models.BigIntegerField(_("value"))
    measured_at = models.DateTimeField(_("measured at"))
    source = models.CharField(max_length=8, default="api")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("metric sample")
        verbose_name_plural = _("metric samples")
        ordering = ["-measured_at"]
        indexes = [models.Index(fields=["agency", "sub_account", "metric", "measured_at"])]


class AlertRule(models.TextChoices):
    FOLLOWER_DROP = "follower_drop", _("Followers dropped")
    UNAUTHORISED_API = "unauthorised_api", _("Unauthorised interface call")
    PENDING_ORDERS = "pending_orders", _("Too many orders awaiting fulfilment")


class Alert(AgencyOwned):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        RESOLVED = "resolved", _("Resolved")

    sub_account = models.ForeignKey("agency.SubAccount", on_delete=models.CASCADE, related_name="alerts")
    rule = models.CharField(_("rule"), max_length=32, choices=AlertRule.choices)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN)
    data = models.JSONField(default=dict, blank=True)
    raised_at = models.DateTimeField(_("raised at"))
    handled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-raised_at", "-id"]
        constraints = [
            # One alert per account and rule until it is resolved.
            models.UniqueConstraint(fields=["agency", "sub_account", "rule"], condition=~models.Q(status="resolved"),
                                    name="alert_unique_unresolved"),
        ]
        indexes = [models.Index(fields=["agency", "status", "raised_at"])]

    def __str__(self) -> str:
        return f"{self.get_rule_display()} · {self.sub_account_id}"


# --- Reopening (R9.3) and the ICS feed --------------------------------------------------------
class ReopenRequest(AgencyOwned):
    sub_account = models.ForeignKey("agency.SubAccount", on_delete=models.CASCADE, related_name="reopen_requests")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    requested_at = models.DateTimeField()
    reason = models.CharField(_("reason"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("reopening request")
        verbose_name_plural = _("reopening requests")
        ordering = ["-requested_at"]


def _new_token() -> str:
    return secrets.token_urlsafe(32)


class CalendarFeed(AgencyOwned):
    """The secret address of an agency's ICS feed. Rotating it revokes old subscriptions."""

    token = models.CharField(max_length=64, unique=True, default=_new_token)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")
        constraints = [models.UniqueConstraint(fields=["agency"], name="calendarfeed_one_per_agency")]
