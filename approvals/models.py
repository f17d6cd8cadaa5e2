"""Approval policies (levels), the approval rounds of a task, decisions, delegations,
appeals and owner signature requests. Every row is tenant-owned."""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.roles import Role
from agency.models import AgencyOwned
from shutdown.models import Strategy


class LevelMode(models.TextChoices):
    ANY = "any", _("Any one")
    ALL = "all", _("All")
    N_OF_M = "n_of_m", _("N of M")


class ApprovalPolicy(AgencyOwned):
    """An ordered list of levels. `strategy` blank = the default for every strategy."""

    name = models.CharField(_("name"), max_length=120)
    strategy = models.CharField(_("strategy"), max_length=16, choices=Strategy.choices, blank=True,
                                help_text=_("Leave empty for the default policy of every strategy."))
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("approval policy")
        verbose_name_plural = _("approval policies")
        ordering = ["strategy", "name"]
        constraints = [models.UniqueConstraint(fields=["agency", "strategy"], name="approvalpolicy_unique_strategy")]

    def __str__(self) -> str:
        return self.name


class ApprovalLevel(AgencyOwned):
    policy = models.ForeignKey(ApprovalPolicy, on_delete=models.CASCADE, related_name="levels")
    position = models.PositiveIntegerField(_("position"))
    name = models.CharField(_("name"), max_length=120)
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, blank=True,
                            help_text=_("Either a role or named members."))
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="ApprovalLevelMember", blank=True,
                                     related_name="+", verbose_name=_("named members"))
    mode = models.CharField(_("mode"), max_length=8, choices=LevelMode.choices, default=LevelMode.ANY)
    required_count = models.PositiveSmallIntegerField(_("approvals needed (N of M)"), default=1,
                                                      validators=[MinValueValidator(1)])
    sla_hours = models.PositiveIntegerField(_("SLA (hours)"), validators=[MinValueValidator(1)])

    class Meta:
        verbose_name = _("approval level")
        verbose_name_plural = _("approval levels")
        ordering = ["policy", "position"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "policy", "position"], name="approvallevel_unique_position")
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.name}"


class ApprovalLevelMember(AgencyOwned):
    level = models.ForeignKey(ApprovalLevel, on_delete=models.CASCADE, related_name="member_links")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["agency", "level", "user"], name="levelmember_unique")]


class ApprovalRound(AgencyOwned):
    """One submission of a task. A rejection or withdrawal closes it; resubmission opens the next."""

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress", _("In progress")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        CANCELLED = "cancelled", _("Cancelled")

    task = models.ForeignKey("shutdown.ShutdownTask", on_delete=models.CASCADE, related_name="approval_rounds")
    number = models.PositiveIntegerField()
    policy_name = models.CharField(max_length=120)
    content_hash = models.CharField(max_length=64)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    submitted_at = models.DateTimeField()
    comment = models.TextField(blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.IN_PROGRESS)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["task", "number"]
        constraints = [models.UniqueConstraint(fields=["agency", "task", "number"], name="approvalround_unique")]
        indexes = [models.Index(fields=["agency", "state"])]


class ApprovalStage(AgencyOwned):
    """A level of a policy, copied into a round at submission (later policy edits do not
    change a task in flight). `approver_ids` is fixed when the stage opens."""

    class State(models.TextChoices):
        WAITING = "waiting", _("Waiting for the previous level")
        OPEN = "open", _("Open")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        CLOSED = "closed", _("Closed")

    round = models.ForeignKey(ApprovalRound, on_delete=models.CASCADE, related_name="stages")
    task = models.ForeignKey("shutdown.ShutdownTask", on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField()
    name = models.CharField(max_length=120)
    role = models.CharField(max_length=16, choices=Role.choices, blank=True)
    member_ids = models.JSONField(default=list, blank=True)
    mode = models.CharField(max_length=8, choices=LevelMode.choices)
    required_count = models.PositiveSmallIntegerField(default=1)
    sla_hours = models.PositiveIntegerField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.WAITING)
    approver_ids = models.JSONField(default=list, blank=True)
    escalated_to_ids = models.JSONField(default=list, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    carried_over = models.BooleanField(default=False, help_text=_("Approved by an upheld appeal"))
    # 加签: a level an approver added before or after their own (None for the policy's levels).
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    # 催办: when the current approvers were last reminded by hand (rate-limited per level).
    urged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["round", "position"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "round", "position"], name="approvalstage_unique_position")
        ]
        indexes = [
            models.Index(fields=["state", "due_at"], name="approvalstage_open_due"),
            models.Index(fields=["agency", "state"]),
        ]

    @property
    def needed(self) -> int:
        if self.mode == LevelMode.ALL:
            return max(1, len(self.approver_ids))
        if self.mode == LevelMode.N_OF_M:
            return max(1, min(self.required_count, len(self.approver_ids) or self.required_count))
        return 1


class ApprovalDecision(AgencyOwned):
    class Kind(models.TextChoices):
        APPROVE = "approve", _("Approved")
        REJECT = "reject", _("Rejected")

    task = models.ForeignKey("shutdown.ShutdownTask", on_delete=models.CASCADE, related_name="+")
    round = models.ForeignKey(ApprovalRound, on_delete=models.CASCADE, related_name="decisions")
    stage = models.ForeignKey(ApprovalStage, on_delete=models.CASCADE, related_name="decisions")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # Whose vote this is: the decider, or the approver who delegated to them.
    vote_of = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=8, choices=Kind.choices)
    comment = models.TextField(blank=True)
    escalated = models.BooleanField(default=False)
    # Attachments (TaskDocument ids of the same task) given with the comment.
    document_ids = models.JSONField(default=list, blank=True)
    # 退回上一级: a level sent back decides again; its earlier votes stay on record, superseded.
    superseded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # Nobody decides twice on one round of a task, nor at two of its levels (votes a
            # send-back superseded do not count).
            models.UniqueConstraint(fields=["agency", "round", "decided_by"], name="decision_once_per_person",
                                    condition=models.Q(superseded_at__isnull=True)),
            models.UniqueConstraint(fields=["agency", "round", "vote_of"], name="decision_once_per_vote",
                                    condition=models.Q(superseded_at__isnull=True)),
        ]


class ApprovalCopy(AgencyOwned):
    """抄送: a member copied on a round (told in-app; may follow the approval page)."""

    task = models.ForeignKey("shutdown.ShutdownTask", on_delete=models.CASCADE, related_name="+")
    round = models.ForeignKey(ApprovalRound, on_delete=models.CASCADE, related_name="copies")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    copied_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["agency", "round", "user"], name="approvalcopy_once")]


class Delegation(AgencyOwned):
    delegator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+",
                                  verbose_name=_("delegator"))
    delegate = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+",
                                 verbose_name=_("delegate"))
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-starts_at"]
        indexes = [models.Index(fields=["agency", "delegate", "ends_at"])]
        constraints = [models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")),
                                              name="delegation_ends_after_start")]


class Appeal(AgencyOwned):
    class State(models.TextChoices):
        OPEN = "open", _("Open")
        UPHELD = "upheld", _("Upheld (rejection overturned)")
        DENIED = "denied", _("Denied")

    task = models.ForeignKey("shutdown.ShutdownTask", on_delete=models.CASCADE, related_name="+")
    round = models.ForeignKey(ApprovalRound, on_delete=models.CASCADE, related_name="appeals")
    appellant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    state = models.CharField(max_length=8, choices=State.choices, default=State.OPEN)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(blank=True)
    used = models.BooleanField(default=False, help_text=_("Applied to a resubmission"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["agency", "round"], name="appeal_once_per_round")]


class SignatureRequest(AgencyOwned):
    """The owner of one item is asked to sign. The link token and the one-time code are
    stored only as hashes; re-sending replaces the token (the old link stops working)."""

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting for the owner")
        SIGNED = "signed", _("Signed")
        DECLINED = "declined", _("Declined")
        REVOKED = "revoked", _("Revoked")

    task = models.ForeignKey("shutdown.ShutdownTask", on_delete=models.CASCADE, related_name="signature_requests")
    item = models.ForeignKey("shutdown.TaskItem", on_delete=models.CASCADE, related_name="signature_requests")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    owner_name = models.CharField(max_length=100, blank=True)
    mobile = models.CharField(max_length=20, blank=True)
    email = models.EmailField(blank=True)
    # What the owner is shown (frozen when the request is made) and its SHA-256.
    content = models.JSONField(default=dict)
    content_sha256 = models.CharField(max_length=64)
    token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    token_version = models.PositiveIntegerField(default=0)
    link_expires_at = models.DateTimeField(null=True, blank=True)
    link_sent_at = models.DateTimeField(null=True, blank=True)
    code_hash = models.CharField(max_length=64, blank=True)
    code_channel = models.CharField(max_length=8, blank=True)
    code_expires_at = models.DateTimeField(null=True, blank=True)
    code_sent_at = models.DateTimeField(null=True, blank=True)
    code_sends = models.PositiveSmallIntegerField(default=0)
    code_attempts = models.PositiveSmallIntegerField(default=0)
    completed_at = models.DateTimeField(null=True, blank=True)
    decline_reason = models.TextField(blank=True)
    evidence = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["task", "id"]
        constraints = [models.UniqueConstraint(fields=["agency", "item"], name="signature_once_per_item")]
        indexes = [models.Index(fields=["agency", "task", "state"])]
