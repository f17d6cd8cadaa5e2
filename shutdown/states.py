"""The explicit state machines of shutdown tasks and their items.

Each transition is allowed only from the states listed here; services call
`check_task_transition` / `check_item_transition`, which raise Conflict (HTTP 409)
with the reason otherwise.
"""

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from agency.exceptions import Conflict


class TaskState(models.TextChoices):
    DRAFT = "draft", gettext_lazy("Draft")
    CHECKING = "checking", gettext_lazy("Checking")
    READY = "ready", gettext_lazy("Ready for approval")
    BLOCKED = "blocked", gettext_lazy("Blocked")
    IN_APPROVAL = "in_approval", gettext_lazy("In approval")
    APPROVED = "approved", gettext_lazy("Approved")
    EXECUTING = "executing", gettext_lazy("Executing")
    DONE = "done", gettext_lazy("Done")
    FAILED = "failed", gettext_lazy("Failed")
    CANCELLED = "cancelled", gettext_lazy("Cancelled")


class ItemState(models.TextChoices):
    DRAFT = "draft", gettext_lazy("Draft")
    CHECKING = "checking", gettext_lazy("Checking")
    READY = "ready", gettext_lazy("Ready")
    BLOCKED = "blocked", gettext_lazy("Blocked")
    IN_APPROVAL = "in_approval", gettext_lazy("In approval")
    APPROVED = "approved", gettext_lazy("Approved")
    EXECUTING = "executing", gettext_lazy("Executing")
    DONE = "done", gettext_lazy("Done")
    EXCLUDED = "excluded", gettext_lazy("Excluded")
    FAILED = "failed", gettext_lazy("Failed")
    CANCELLED = "cancelled", gettext_lazy("Cancelled")


T = TaskState
TASK_TRANSITIONS: dict[str, set[str]] = {
    T.DRAFT: {T.CHECKING, T.CANCELLED},
    T.CHECKING: {T.READY, T.BLOCKED, T.DRAFT, T.CANCELLED},
    T.BLOCKED: {T.CHECKING, T.DRAFT, T.READY, T.CANCELLED},
    T.READY: {T.IN_APPROVAL, T.CHECKING, T.DRAFT, T.CANCELLED},
    T.IN_APPROVAL: {T.APPROVED, T.DRAFT, T.CANCELLED},
    T.APPROVED: {T.EXECUTING, T.CANCELLED},
    T.EXECUTING: {T.DONE, T.FAILED},
    T.DONE: set(),
    T.FAILED: set(),
    T.CANCELLED: set(),
}

I = ItemState  # noqa: E741
ITEM_TRANSITIONS: dict[str, set[str]] = {
    I.DRAFT: {I.CHECKING, I.EXCLUDED, I.CANCELLED},
    I.CHECKING: {I.READY, I.BLOCKED, I.DRAFT, I.EXCLUDED, I.CANCELLED},
    I.BLOCKED: {I.CHECKING, I.READY, I.EXCLUDED, I.DRAFT, I.CANCELLED},
    I.READY: {I.IN_APPROVAL, I.CHECKING, I.BLOCKED, I.EXCLUDED, I.DRAFT, I.CANCELLED},
    I.IN_APPROVAL: {I.APPROVED, I.DRAFT, I.EXCLUDED, I.CANCELLED},
    I.APPROVED: {I.EXECUTING, I.DONE, I.FAILED, I.EXCLUDED, I.CANCELLED},
    I.EXECUTING: {I.DONE, I.FAILED},
    I.DONE: set(),
    I.EXCLUDED: {I.DRAFT},
    I.FAILED: {I.EXECUTING},
    I.CANCELLED: set(),
}

# Task states in which the task's content (items, tiers, strategy) may be edited.
EDITABLE_TASK_STATES = {T.DRAFT, T.CHECKING, T.BLOCKED, T.READY}

# Items that no longer take part in their task (excluded, e.g. after a declined signature, or
# cancelled with it): they do not count for the task's state, its content hash, its counts or its
# blockers, and their sub-accounts are free for another task.
INACTIVE_ITEM_STATES = (I.EXCLUDED, I.CANCELLED)


def check_task_transition(current: str, target: str) -> None:
    if target not in TASK_TRANSITIONS.get(current, set()):
        raise Conflict(
            _("A task cannot go from “%(current)s” to “%(target)s”.")
            % {"current": TaskState(current).label, "target": TaskState(target).label},
            code="illegal_transition",
            details={"from": current, "to": target},
        )


def check_item_transition(current: str, target: str) -> None:
    if target not in ITEM_TRANSITIONS.get(current, set()):
        raise Conflict(
            _("An item cannot go from “%(current)s” to “%(target)s”.")
            % {"current": ItemState(current).label, "target": ItemState(target).label},
            code="illegal_transition",
            details={"from": current, "to": target},
        )
