"""Event kinds are one enumeration (shutdown.models.EventKind) with translatable labels."""

import re
from pathlib import Path

import pytest
from django.utils import translation

from shutdown.events import chain_verify, event_record
from shutdown.models import EventKind, TaskEvent
from tests.builders import make_task
from tests.factories import SubAccountFactory

from .helpers import clean

ROOT = Path(__file__).resolve().parents[2]
APPS = ("accounts", "agency", "notifications", "rulebook", "shutdown", "approvals", "deadlines", "backoffice")

# The stored values: existing events (and their hash chains) hold them; they never change.
STORED = {
    "task.created", "task.edited", "task.reset", "task.checked", "tiers.split", "tier.edited", "item.edited",
    "item.excluded", "item.restored", "item.moved", "document.uploaded", "precheck.started", "precheck.finished",
    "blocker.resolved", "blocker.appealed", "task.draft", "task.checking", "task.ready", "task.blocked",
    "task.in_approval", "task.approved", "task.executing", "task.done", "task.failed", "task.cancelled",
    "item.draft", "item.checking", "item.ready", "item.blocked", "item.in_approval", "item.approved",
    "item.executing", "item.done", "item.failed", "item.cancelled", "approval.submitted", "items.in_approval",
    "approval.appeal_applied", "approval.level_opened", "approval.approve", "approval.reject",
    "approval.level_approved", "approval.approved", "items.approved", "approval.task_rejected",
    "approval.withdrawn", "items.draft", "approval.cancelled", "items.cancelled", "approval.appeal_filed",
    "approval.appeal_upheld", "approval.appeal_denied", "approval.sla_reminder", "approval.escalated",
    "signatures.queued", "signatures.requested", "signature.link_resent", "signature.revoked",
    "signature.code_sent", "signature.code_wrong", "signature.signed", "signature.declined",
    "item.excluded_by_owner", "tier.opened", "item.retried", "tier.complete", "tier.closed",
    "item.expected_recomputed", "deadline.recomputed", "signature.link_shown", "signatures.tier_ready",
    "deadline.dormant_login", "deadline.dormant_login_missed",
    "preparation.ticked", "preparation.waived", "shell.started", "shell.cancelled", "unbinding.confirmed",
    "recommendation.overridden",
    "approval.approver_added", "approval.handed_over", "approval.sent_back", "approval.copied", "approval.urged",
    "receipts.imported",
}


def test_the_stored_values_are_unchanged():
    assert set(EventKind.values) == STORED


def test_every_task_and_item_state_has_its_kind():
    from shutdown.states import ItemState, TaskState

    assert all(EventKind.for_task_state(s) for s in TaskState.values)
    assert all(EventKind.for_item_state(s) for s in ItemState.values)


def test_no_event_kind_is_written_as_a_string():
    """Call sites use the enumeration: no `kind="x.y"` or `kind=f"…"` left in the apps."""
    found = []
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            text = path.read_text(encoding="utf-8")
            found += [f"{path.relative_to(ROOT)}: {m}" for m in re.findall(r'kind=f?"[a-z_]+\.[a-z_{}.]*"', text)]
            found += [f"{path.relative_to(ROOT)}: {m}" for m in re.findall(r'kind=f"[^"]*"', text)]
    assert found == []


def test_every_label_is_translated_into_chinese():
    with translation.override("en"):
        english = {k.value: str(k.label) for k in EventKind}
    with translation.override("zh-hans"):
        untranslated = [k.value for k in EventKind if str(k.label) == english[k.value]]
    assert untranslated == []


def test_event_record_refuses_an_unknown_kind_and_stores_the_plain_value(world_a):
    account = SubAccountFactory(agency=world_a.agency, **clean())
    task = make_task(world_a, [account])
    with world_a.scope():
        before = TaskEvent.objects.filter(task=task).count()
        with pytest.raises(ValueError, match="Unknown event kind"):
            event_record(agency=world_a.agency, task=task, kind="task.renamed")
        assert TaskEvent.objects.filter(task=task).count() == before
        event = event_record(agency=world_a.agency, task=task, kind=EventKind.TASK_EDITED, data={"fields": []})
        event.refresh_from_db()
        assert type(event.kind) is str and event.kind == "task.edited"
        assert event.kind_label == "Task edited"
        assert chain_verify(task=task)["ok"]
