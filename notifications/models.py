from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from agency.models import AgencyOwned
from agency.privacy import mask_address


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    INAPP = "inapp", _("In-app")
    ROBOT = "robot", _("Group robot")


# The channels that reach one person (reminder rules, alert recipients choose among them); a group
# robot is reached only through notifications.robots.
PERSON_CHANNELS: tuple[str, ...] = (Channel.EMAIL, Channel.SMS, Channel.INAPP)


# What each kind of message is, as shown in the outbox and the dashboard.
MESSAGE_KIND_LABELS = {
    "reminder": _("Deadline reminder"),
    "alert": _("Monitoring alert"),
    "signing_link": _("Signing link"),
    "signing_code": _("Signing code"),
    "approval_request": _("Approval request"),
    "approval_sla_reminder": _("Approval overdue reminder"),
    "approval_escalated": _("Approval escalated"),
    "approval_appeal": _("Appeal of a rejection"),
    "approval_appeal_decided": _("Appeal decided"),
    "task_rejected": _("Task rejected"),
    "signature_declined": _("Signature declined"),
    "tier_ready": _("Ready to execute"),
    "approval_handed_over": _("Approval handed over to you"),
    "approval_sent_back": _("Approval sent back to your level"),
    "approval_copied": _("Copied on an approval"),
    "approval_urged": _("Approval reminder from the submitter"),
    "approval_added": _("Added as an approver"),
    "robot_approval_waiting": _("Group robot: approval waiting"),
    "robot_approval_decided": _("Group robot: approved or rejected"),
    "robot_signatures_complete": _("Group robot: signatures complete"),
    "robot_tier_executed": _("Group robot: tier executed"),
    "robot_deadline_1d": _("Group robot: deadline in 1 day"),
    "robot_alert_raised": _("Group robot: alert raised"),
    "robot_test": _("Group robot: test message"),
}

# Messages that carry a one-time secret (sealed until sent, never shown): what the outbox
# says instead, by status.
SECRET_KINDS = {
    "signing_link": (_("Signing link, to be sent to %(to)s"), _("Signing link, sent to %(to)s")),
    "signing_code": (_("One-time code, to be sent to %(to)s"), _("One-time code, sent to %(to)s")),
}


class OutboundMessage(AgencyOwned):
    """Every email, SMS and in-app notification, stored before it is sent.

    The row is the source of truth: a periodic sweep claims due rows
    (select_for_update(skip_locked=True)) and delivers them; a lost broker message is
    picked up by the next sweep. `idempotency_key` is unique per agency, so the same
    (deadline, rule, channel, recipient) can never be stored — or sent — twice; it is
    handed to the provider as its idempotency key where the provider has one.
    """

    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("message status", "Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    kind = models.CharField(_("kind"), max_length=64, help_text=_("reminder, signing_link, approval_request, …"))
    template_code = models.CharField(_("template"), max_length=64)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    language = models.CharField(max_length=10, default="zh-hans")
    # Recipient: a user (back office) or a raw address (a sub-account owner has no login).
    recipient_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    recipient_address = models.CharField(_("recipient"), max_length=254, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True)
    send_after = models.DateTimeField(_("send after"), db_index=False)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PENDING)
    # How many times the transport (SMTP, the SMS provider) was called for this row.
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    provider_message_id = models.CharField(max_length=200, blank=True)
    # An email's Message-ID (email.utils.make_msgid at our domain), made once when the row is
    # stored: a retry of the same message sends the same one.
    email_message_id = models.CharField(max_length=250, blank=True, default="", db_default="")
    idempotency_key = models.CharField(max_length=200)
    # Optional links back to what caused it.
    task = models.ForeignKey("shutdown.ShutdownTask", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    # What caused it, e.g. "deadline:42" or "alert:7": reminders of a deadline are found (and
    # rescheduled when a provisional date is recomputed) through it.
    ref = models.CharField(max_length=64, blank=True, default="")
    # A one-time secret (signing link, code) sealed for delivery only; emptied once sent,
    # failed for good or cancelled (notifications.secrets).
    sealed = models.TextField(blank=True, default="", db_default="")
    # Transactional messages (one-time codes) go out at once, quiet hours or not.
    transactional = models.BooleanField(default=False, db_default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("outbound message")
        verbose_name_plural = _("outbound messages")
        ordering = ["-send_after"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "idempotency_key"], name="outbound_unique_idempotency_key")
        ]
        indexes = [
            # The sweep's query: pending rows whose send time has come.
            models.Index(fields=["send_after"], condition=models.Q(status="pending"), name="outbound_due_idx"),
            # Rows left `sending` by a worker that died: the sweep takes them again after a timeout.
            models.Index(fields=["claimed_at"], condition=models.Q(status="sending"), name="outbound_sending_idx"),
            models.Index(fields=["agency", "status"]),
            models.Index(fields=["recipient_user", "channel", "read_at"]),
            models.Index(fields=["agency", "ref"], condition=~models.Q(ref=""), name="outbound_ref_idx"),
        ]

    @property
    def kind_display(self) -> str:
        return str(MESSAGE_KIND_LABELS.get(self.kind, self.kind))

    @property
    def carries_secret(self) -> bool:
        return self.kind in SECRET_KINDS

    @property
    def recipient_display(self) -> str:
        """The recipient as staff see it: an owner's address behind a secret is masked."""
        address = self.recipient_address or (self.recipient_user.email if self.recipient_user_id else "")
        return mask_address(address) if self.carries_secret else address

    @property
    def summary(self) -> str:
        """What a secret-bearing message is, e.g. "签署链接，已发送至 138****8013"; else its kind."""
        if not self.carries_secret:
            return self.kind_display
        pending, sent = SECRET_KINDS[self.kind]
        return str(sent if self.status == self.Status.SENT else pending) % {"to": self.recipient_display}

    @property
    def link_path(self) -> str:
        """Where an in-app notice leads, as a path inside the back office ("" when nowhere):
        messages store `path` or `link`; an address on SITE_URL is made relative."""
        base = settings.SITE_URL.rstrip("/")
        for key in ("path", "link"):
            value = str((self.params or {}).get(key) or "")
            if value.startswith(base + "/"):
                value = value[len(base):]
            if value.startswith("/") and not value.startswith("//"):
                return value
        return ""

    @property
    def body_text(self) -> str:
        """The body without the line that spells out the link (the page shows it as a link)."""
        path = self.link_path
        if not path:
            return self.body
        lines = [line for line in (self.body or "").splitlines() if not line.rstrip().endswith(path)]
        return "\n".join(lines).strip()

    def __str__(self) -> str:
        return f"{self.channel}:{self.kind} → {self.recipient_address or self.recipient_user_id}"


# Messages for the back office's members (the signing link and code go to account holders).
MEMBER_KINDS = [k for k in MESSAGE_KIND_LABELS if k not in SECRET_KINDS]


class ChannelPreference(AgencyOwned):
    """A member's choice of channels for one kind of message, within what the agency allows
    (notifications.services.preferences). No row: the sender's defaults."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("kind"), max_length=64)
    channels = models.JSONField(_("channels"), default=list)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        constraints = [models.UniqueConstraint(fields=["agency", "user", "kind"], name="channel_pref_unique")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.kind} → {','.join(self.channels)}"


class RobotPlatform(models.TextChoices):
    DINGTALK = "dingtalk", _("DingTalk")
    WECOM = "wecom", _("WeCom (企业微信)")
    FEISHU = "feishu", _("Feishu")


class RobotEvent(models.TextChoices):
    APPROVAL_WAITING = "approval_waiting", _("Approval waiting")
    APPROVAL_DECIDED = "approval_decided", _("Approved or rejected")
    SIGNATURES_COMPLETE = "signatures_complete", _("Account holder signatures complete")
    TIER_EXECUTED = "tier_executed", _("Tier executed")
    DEADLINE_1D = "deadline_1d", _("Deadline in 1 day")
    ALERT_RAISED = "alert_raised", _("Alert raised")


class RobotWebhook(AgencyOwned):
    """A group robot (DingTalk / WeCom / Feishu custom robot) that receives chosen events.

    The webhook address and the signing secret are credentials: stored sealed
    (notifications.secrets), read only by the delivery path, shown masked (`address_hint`)."""

    name = models.CharField(_("name"), max_length=100)
    platform = models.CharField(_("platform"), max_length=12, choices=RobotPlatform.choices)
    sealed = models.TextField(default="")
    address_hint = models.CharField(_("webhook address"), max_length=200, blank=True)
    has_secret = models.BooleanField(_("signed"), default=False)
    events = models.JSONField(_("events"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("group robot")
        verbose_name_plural = _("group robots")
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["agency", "name"], name="robotwebhook_unique_name")]

    def __str__(self) -> str:
        return self.name

    @property
    def event_labels(self) -> list[str]:
        labels = dict(RobotEvent.choices)
        return [str(labels[e]) for e in self.events if e in labels]
