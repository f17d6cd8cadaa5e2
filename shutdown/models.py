from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from agency.models import AgencyOwned

from .states import ItemState, TaskState


class Strategy(models.TextChoices):
    SHUTDOWN = "shutdown", _("Full shutdown")
    DORMANT = "dormant", _("Dormant mode (R5.1)")
    RESTRICT = "restrict", _("Permission shrink (R5.2)")
    MATRIX = "matrix", _("Matrix reorganisation (R5.3)")


class ShutdownTask(AgencyOwned):
    """A batch shutdown (or downgrade) of many sub-accounts, split into ordered tiers."""

    title = models.CharField(_("title"), max_length=200)
    reason = models.TextField(_("reason"), blank=True)
    strategy = models.CharField(_("strategy"), max_length=16, choices=Strategy.choices, default=Strategy.SHUTDOWN)
    matrix_target = models.ForeignKey(
        "agency.SubAccount", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("matrix target account"),
    )
    state = models.CharField(_("state"), max_length=16, choices=TaskState.choices, default=TaskState.DRAFT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    content_hash = models.CharField(_("content hash at submission"), max_length=64, blank=True)
    # Progress of long work (pre-checks of large tasks): done / total, shown as a progress bar.
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    checked_at = models.DateTimeField(_("last pre-check"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("shutdown task")
        verbose_name_plural = _("shutdown tasks")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["agency", "state"])]

    def __str__(self) -> str:
        return self.title


class Tier(AgencyOwned):
    """An ordered batch of a task. The next tier opens only when the previous one is complete."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        OPEN = "open", _("Open")
        COMPLETE = "complete", _("Complete")
        CLOSED_WITH_FAILURES = "closed_with_failures", _("Closed with failures")

    task = models.ForeignKey(ShutdownTask, on_delete=models.CASCADE, related_name="tiers")
    position = models.PositiveIntegerField(_("position"))
    name = models.CharField(_("name"), max_length=100)
    planned_start = models.DateTimeField(_("planned start"), null=True, blank=True)
    state = models.CharField(_("state"), max_length=24, choices=State.choices, default=State.PENDING)

    class Meta:
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")
        ordering = ["task", "position"]
        constraints = [models.UniqueConstraint(fields=["agency", "task", "position"], name="tier_unique_position")]

    @property
    def display_name(self) -> str:
        """The name in the viewer's language (generated names are translated when shown)."""
        from shutdown.rules import tier_display_name

        return tier_display_name(self.name)

    def __str__(self) -> str:
        return f"{self.position}. {self.name}"


class TaskItem(AgencyOwned):
    """One sub-account inside a task."""

    task = models.ForeignKey(ShutdownTask, on_delete=models.CASCADE, related_name="items")
    tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.SET_NULL, related_name="items")
    sub_account = models.ForeignKey("agency.SubAccount", on_delete=models.PROTECT, related_name="task_items")
    state = models.CharField(_("state"), max_length=16, choices=ItemState.choices, default=ItemState.DRAFT)
    # When the shutdown took effect on the platform; deadlines count from here.
    effective_at = models.DateTimeField(_("effective at"), null=True, blank=True)
    expected_effective_at = models.DateTimeField(_("expected effective at"), null=True, blank=True)
    expected_is_provisional = models.BooleanField(default=False)
    # The latest expected date (R1.3 ranges, R7.2 delayed review); expected_effective_at is the earliest.
    expected_effective_latest_at = models.DateTimeField(_("expected effective at the latest"), null=True, blank=True)
    # The moment the expected dates were counted from (a calendar change recounts them from here).
    expected_from = models.DateTimeField(null=True, blank=True)
    failure_reason = models.TextField(_("failure reason"), blank=True)
    # A hosted-topic transfer target must be named before the item can proceed (R3.3).
    topic_transfer_target = models.CharField(_("topic-host transfer target"), max_length=200, blank=True)
    receipt_number = models.CharField(_("platform receipt number"), max_length=100, blank=True)
    note = models.TextField(_("note"), blank=True)
    # R9.2 shell transition: the account stays an empty shell while its followers move elsewhere;
    # its shutdown is scheduled at `shell_transition_until` (its tier waits until then).
    shell_transition_started_at = models.DateTimeField(_("shell transition started"), null=True, blank=True)
    shell_transition_until = models.DateTimeField(_("shell transition until"), null=True, blank=True)
    # R9.4: why this item does not follow the recommendation (the operator's recorded reason).
    recommendation_override_reason = models.TextField(_("why the recommendation is not followed"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("task item")
        verbose_name_plural = _("task items")
        ordering = ["task", "tier__position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "task", "sub_account"], name="taskitem_unique_account")
        ]
        indexes = [models.Index(fields=["agency", "task", "state"])]

    def __str__(self) -> str:
        return f"{self.task_id}/{self.sub_account_id}"


class EventKind(models.TextChoices):
    """Every kind of audit event (TaskEvent.kind). The stored values never change: the events of
    existing tasks and their hash chains hold them. `event_record` refuses any other kind."""

    # the task, while it is prepared
    TASK_CREATED = "task.created", _("Task created")
    TASK_EDITED = "task.edited", _("Task edited")
    TASK_RESET = "task.reset", _("Task reset to draft (strategy changed)")
    TASK_CHECKED = "task.checked", _("Task checked")
    TIERS_SPLIT = "tiers.split", _("Tiers split")
    TIER_EDITED = "tier.edited", _("Tier edited")
    ITEM_EDITED = "item.edited", _("Item edited")
    ITEM_EXCLUDED = "item.excluded", _("Item excluded")
    ITEM_RESTORED = "item.restored", _("Item restored")
    ITEM_MOVED = "item.moved", _("Item moved to another tier")
    DOCUMENT_UPLOADED = "document.uploaded", _("Document uploaded")
    PRECHECK_STARTED = "precheck.started", _("Pre-checks started")
    PRECHECK_FINISHED = "precheck.finished", _("Pre-checks finished")
    BLOCKER_RESOLVED = "blocker.resolved", _("Blocker resolved")
    BLOCKER_APPEALED = "blocker.appealed", _("Blocker appealed")
    # the task's own state moves without a more specific kind (task_transition: "task.<state>")
    TASK_DRAFT = "task.draft", _("Task back to draft")
    TASK_CHECKING = "task.checking", _("Task being checked")
    TASK_READY = "task.ready", _("Task ready for approval")
    TASK_BLOCKED = "task.blocked", _("Task blocked")
    TASK_IN_APPROVAL = "task.in_approval", _("Task in approval")
    TASK_APPROVED = "task.approved", _("Task approved")
    TASK_EXECUTING = "task.executing", _("Execution started")
    TASK_DONE = "task.done", _("Task done")
    TASK_FAILED = "task.failed", _("Task failed")
    TASK_CANCELLED = "task.cancelled", _("Task cancelled")
    # an item's own state moves without a more specific kind (item_transition: "item.<state>")
    ITEM_DRAFT = "item.draft", _("Item back to draft")
    ITEM_CHECKING = "item.checking", _("Item being checked")
    ITEM_READY = "item.ready", _("Item ready")
    ITEM_BLOCKED = "item.blocked", _("Item blocked")
    ITEM_IN_APPROVAL = "item.in_approval", _("Item in approval")
    ITEM_APPROVED = "item.approved", _("Item approved")
    ITEM_EXECUTING = "item.executing", _("Item executing")
    ITEM_DONE = "item.done", _("Item done")
    ITEM_FAILED = "item.failed", _("Item failed")
    ITEM_CANCELLED = "item.cancelled", _("Item cancelled")
    # approval
    APPROVAL_SUBMITTED = "approval.submitted", _("Submitted for approval")
    ITEMS_IN_APPROVAL = "items.in_approval", _("Items submitted for approval")
    APPROVAL_APPEAL_APPLIED = "approval.appeal_applied", _("Upheld appeal applied: levels carried over")
    APPROVAL_LEVEL_OPENED = "approval.level_opened", _("Approval level opened")
    APPROVAL_APPROVE = "approval.approve", _("Approver approved")
    APPROVAL_REJECT = "approval.reject", _("Approver rejected")
    APPROVAL_LEVEL_APPROVED = "approval.level_approved", _("Approved at a level")
    APPROVAL_APPROVED = "approval.approved", _("Approved at every level")
    ITEMS_APPROVED = "items.approved", _("Items approved")
    APPROVAL_TASK_REJECTED = "approval.task_rejected", _("Task rejected")
    APPROVAL_WITHDRAWN = "approval.withdrawn", _("Task withdrawn by the submitter")
    ITEMS_DRAFT = "items.draft", _("Items back to draft")
    APPROVAL_CANCELLED = "approval.cancelled", _("Task cancelled for good")
    ITEMS_CANCELLED = "items.cancelled", _("Items cancelled")
    APPROVAL_APPEAL_FILED = "approval.appeal_filed", _("Rejection appealed")
    APPROVAL_APPEAL_UPHELD = "approval.appeal_upheld", _("Appeal upheld")
    APPROVAL_APPEAL_DENIED = "approval.appeal_denied", _("Appeal denied")
    APPROVAL_SLA_REMINDER = "approval.sla_reminder", _("Approvers reminded (deadline near)")
    APPROVAL_ESCALATED = "approval.escalated", _("Approval escalated to the owner")
    APPROVAL_APPROVER_ADDED = "approval.approver_added", _("Approver added")
    APPROVAL_HANDED_OVER = "approval.handed_over", _("Decision handed over")
    APPROVAL_SENT_BACK = "approval.sent_back", _("Sent back to the previous level")
    APPROVAL_COPIED = "approval.copied", _("Members copied")
    APPROVAL_URGED = "approval.urged", _("Approvers reminded by hand")
    # owner signatures
    SIGNATURES_QUEUED = "signatures.queued", _("Signature requests queued")
    SIGNATURES_REQUESTED = "signatures.requested", _("Signature links sent")
    SIGNATURE_LINK_RESENT = "signature.link_resent", _("Signature link sent again")
    SIGNATURE_REVOKED = "signature.revoked", _("Signature link revoked")
    SIGNATURE_CODE_SENT = "signature.code_sent", _("Signing code sent")
    SIGNATURE_CODE_WRONG = "signature.code_wrong", _("Wrong signing code entered")
    SIGNATURE_SIGNED = "signature.signed", _("Owner signed")
    SIGNATURE_DECLINED = "signature.declined", _("Owner declined")
    ITEM_EXCLUDED_BY_OWNER = "item.excluded_by_owner", _("Item excluded (the owner declined)")
    SIGNATURE_LINK_SHOWN = "signature.link_shown", _("Signing link shown as a QR code")
    SIGNATURES_TIER_READY = "signatures.tier_ready", _("Every owner of the tier has signed: ready to execute")
    # execution
    TIER_OPENED = "tier.opened", _("Tier opened")
    ITEM_RETRIED = "item.retried", _("Item retried")
    TIER_COMPLETE = "tier.complete", _("Tier complete")
    TIER_CLOSED = "tier.closed", _("Tier closed")
    RECEIPTS_IMPORTED = "receipts.imported", _("Platform receipts imported")
    # the working-day calendar changed: dates counted from it were recounted
    ITEM_EXPECTED_RECOMPUTED = "item.expected_recomputed", _("Expected effective date recounted")
    DEADLINE_RECOMPUTED = "deadline.recomputed", _("Deadline recounted")
    # R5.1: an operator recorded the monthly login of a dormant account, or the month passed without one
    DORMANT_LOGIN_RECORDED = "deadline.dormant_login", _("Dormant account login recorded")
    DORMANT_LOGIN_MISSED = "deadline.dormant_login_missed", _("Dormant account login missed")
    # preparation and transition (R9.1, R9.2, R1.3, R9.4)
    PREPARATION_TICKED = "preparation.ticked", _("Preparation phase ticked")
    PREPARATION_WAIVED = "preparation.waived", _("Preparation phase waived")
    SHELL_TRANSITION_STARTED = "shell.started", _("Shell transition chosen: shutdown scheduled at its end")
    SHELL_TRANSITION_CANCELLED = "shell.cancelled", _("Shell transition cancelled")
    UNBINDING_CONFIRMED = "unbinding.confirmed", _("Third-party unbinding confirmed")
    RECOMMENDATION_OVERRIDDEN = "recommendation.overridden", _("Recommendation not followed (reason recorded)")

    @classmethod
    def for_task_state(cls, state: str) -> "EventKind":
        return cls(f"task.{state}")

    @classmethod
    def for_item_state(cls, state: str) -> "EventKind":
        return cls(f"item.{state}")

    @classmethod
    def label_of(cls, value: str) -> str:
        """The label of a stored kind; a kind that is no longer written shows as stored."""
        return cls(value).label if value in cls.values else value


class TaskEvent(AgencyOwned):
    """Append-only, hash-chained audit log of a task (R7.1 evidence; issue: audit trail).

    Each event stores the hash of the previous event of the same task; `hash` covers the
    event's own content plus `prev_hash`. Written only through shutdown.events.event_record.
    """

    task = models.ForeignKey(ShutdownTask, on_delete=models.CASCADE, related_name="events")
    item = models.ForeignKey(TaskItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="events")
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=64)  # an EventKind value (no choices: no migration per new kind)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_label = models.CharField(max_length=200, blank=True, help_text=_("Who acted, as shown (user, owner, system)"))
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("task event")
        verbose_name_plural = _("task events")
        ordering = ["task", "seq"]
        constraints = [models.UniqueConstraint(fields=["agency", "task", "seq"], name="taskevent_unique_seq")]

    def __str__(self) -> str:
        return f"{self.task_id}#{self.seq} {self.kind}"

    @property
    def kind_label(self) -> str:
        return EventKind.label_of(self.kind)

    @property
    def actor_words(self) -> str:
        from shutdown.event_words import actor_words

        return actor_words(self.actor_label)

    @property
    def data_rows(self) -> list[tuple[str, str]]:
        """The details in words (shutdown/event_words.py)."""
        from shutdown.event_words import event_data_rows

        return event_data_rows(self)


class CheckKind(models.TextChoices):
    """The review checks of R4, plus the document and hand-over checks of R1.3/R7/R3.3."""

    COMPLIANCE = "compliance", _("Compliance")
    PERMISSIONS = "permissions", _("Permissions")
    TECHNICAL = "technical", _("Technical")
    DOCUMENTS = "documents", _("Required documents")
    HANDOVER = "handover", _("Hand-over")


class Blocker(AgencyOwned):
    """One reason a pre-check stopped an item, with the rule id and the appeal channel (R4).

    `open` and `appealed` block the item; `resolved` (an operator recorded a resolution)
    and `cleared` (a re-check found the condition gone) do not.
    """

    class State(models.TextChoices):
        OPEN = "open", _("Open")
        APPEALED = "appealed", _("Appealed")
        RESOLVED = "resolved", _("Resolved")
        CLEARED = "cleared", _("Cleared by re-check")

    BLOCKING_STATES = (State.OPEN, State.APPEALED)

    task = models.ForeignKey(ShutdownTask, on_delete=models.CASCADE, related_name="blockers")
    item = models.ForeignKey(TaskItem, on_delete=models.CASCADE, related_name="blockers")
    check_type = models.CharField(_("check"), max_length=16, choices=CheckKind.choices)
    rule = models.CharField(_("rule"), max_length=16)
    code = models.CharField(_("code"), max_length=64)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.OPEN)
    resolution_note = models.TextField(_("resolution"), blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    appeal_note = models.TextField(_("appeal"), blank=True)
    appeal_document = models.ForeignKey(
        "TaskDocument", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    appealed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    appealed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("blocker")
        verbose_name_plural = _("blockers")
        ordering = ["item_id", "check_type", "code"]
        constraints = [models.UniqueConstraint(fields=["agency", "item", "code"], name="blocker_unique_code")]
        indexes = [models.Index(fields=["agency", "task", "state"])]

    def __str__(self) -> str:
        return f"{self.item_id}:{self.code}"

    @property
    def is_blocking(self) -> bool:
        return self.state in self.BLOCKING_STATES

    @property
    def reason(self) -> str:
        from .rules import blocker_reason

        return blocker_reason(self.code)

    @property
    def appeal_channel(self) -> str:
        from .rules import blocker_channel

        return blocker_channel(self.code)


class DocumentKind(models.TextChoices):
    LEGAL_REP_AUTHORISATION = "legal_rep_authorisation", _("Legal representative's authorisation letter (R1.3)")
    GDPR_DECLARATION = "gdpr_declaration", _("GDPR compliance declaration (R7.3)")
    INHERITANCE_CERTIFICATE = "inheritance_certificate", _("Notarised inheritance certificate (R7.4)")
    APPEAL_EVIDENCE = "appeal_evidence", _("Appeal evidence (R4)")
    EXECUTION_SCREENSHOT = "execution_screenshot", _("Execution screenshot")
    PREPARATION_EVIDENCE = "preparation_evidence", _("Preparation evidence (R9.1)")
    UNBINDING_EVIDENCE = "unbinding_evidence", _("Third-party unbinding evidence (R1.3)")
    OTHER = "other", _("Other")


class TaskDocument(AgencyOwned):
    """An uploaded file: checked by content, size-limited, stored under the agency's folder, hashed."""

    task = models.ForeignKey(ShutdownTask, on_delete=models.CASCADE, related_name="documents")
    item = models.ForeignKey(TaskItem, null=True, blank=True, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(_("kind"), max_length=32, choices=DocumentKind.choices)
    file = models.FileField(_("file"), max_length=300)
    original_name = models.CharField(_("original name"), max_length=255, blank=True)
    content_type = models.CharField(_("content type"), max_length=64)
    size = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["-uploaded_at", "-id"]
        indexes = [models.Index(fields=["agency", "task", "kind"])]

    def __str__(self) -> str:
        return self.original_name or self.file.name


class PreparationPhase(models.TextChoices):
    """R9.1: the three preparation phases before a shutdown, in their order."""

    EXPORT_INTERACTION = "export_interaction", _("Export the last six months of interaction data")
    BACKUP_DRAFTS = "backup_drafts", _("Back up drafts locally")
    REMOVE_AUTHORISATIONS = "remove_authorisations", _("Remove third-party authorisations")


class ItemPreparation(AgencyOwned):
    """One preparation phase of one item (R9.1), ticked (who, when, optional evidence) or waived
    with a reason. A phase without a row is still to do; the item's tier waits for all three."""

    class State(models.TextChoices):
        DONE = "done", _("Done")
        WAIVED = "waived", _("Waived")

    task = models.ForeignKey(ShutdownTask, on_delete=models.CASCADE, related_name="preparations")
    item = models.ForeignKey(TaskItem, on_delete=models.CASCADE, related_name="preparations")
    phase = models.CharField(_("phase"), max_length=32, choices=PreparationPhase.choices)
    state = models.CharField(_("state"), max_length=8, choices=State.choices)
    note = models.TextField(_("note"), blank=True)
    document = models.ForeignKey(TaskDocument, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                           related_name="+")
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("preparation phase")
        verbose_name_plural = _("preparation phases")
        ordering = ["item_id", "phase"]
        constraints = [models.UniqueConstraint(fields=["agency", "item", "phase"], name="itempreparation_unique")]
        indexes = [models.Index(fields=["agency", "task"])]

    def __str__(self) -> str:
        return f"{self.item_id}:{self.phase}={self.state}"


class ReceiptImport(AgencyOwned):
    """A platform receipts file (platform, account or item, receipt number, effective time) between
    its preview and its confirmation, and afterwards as the record of what it marked done."""

    class Status(models.TextChoices):
        PREVIEWED = "previewed", _("Previewed")
        APPLIED = "applied", _("Applied")

    task = models.ForeignKey(ShutdownTask, on_delete=models.CASCADE, related_name="receipt_imports")
    original_name = models.CharField(_("file name"), max_length=255)
    content = models.BinaryField(_("content"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PREVIEWED)
    result = models.JSONField(_("result"), default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(_("applied at"), null=True, blank=True)

    class Meta:
        verbose_name = _("receipts import")
        verbose_name_plural = _("receipts imports")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["agency", "task", "created_at"])]

    def __str__(self) -> str:
        return self.original_name
