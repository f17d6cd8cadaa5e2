"""Shared helpers of the shutdown tests."""

import io

from shutdown.models import TaskItem
from shutdown.services.precheck import precheck_run, precheck_start
from shutdown.services.transitions import task_transition
from shutdown.states import ItemState, TaskState

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")


def upload(content: bytes = PDF, name: str = "letter.pdf"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def clean(**overrides) -> dict:
    """Sub-account fields that pass every pre-check."""
    return {"mcn_contract_end": None, "pending_orders": 0, "open_infringement_complaints": 0, "bound_mini_programs": 0,
            "third_party_authorisations": 0, "api_anomaly": False, "hosted_topics": 0, "kind": "personal",
            "region": "domestic", "owner_relation": "creator", **overrides}


def run_precheck(world, task):
    with world.scope():
        precheck_start(agency=world.agency, task=task, actor=world.user("operator"))
        # CELERY_TASK_ALWAYS_EAGER is off in tests: the on_commit hook is not run; call the body.
        precheck_run(agency=world.agency, task_id=task.pk)
        task.refresh_from_db()
    return task


def prepare_all(world, task):
    """Tick the three R9.1 preparation phases of every item (a full shutdown's tiers wait for them)."""
    from shutdown.models import PreparationPhase
    from shutdown.services.preparation import preparation_mark

    with world.scope():
        task.refresh_from_db()
        if task.strategy != "shutdown":
            return task
        for phase in PreparationPhase.values:
            preparation_mark(agency=world.agency, task=task, actor=world.user("operator"), phase=phase,
                             all_items=True)
    return task


def approve(world, task, *, prepared: bool = True):
    """Stand-in for the approvals app: READY → IN_APPROVAL → APPROVED, items too; then (unless
    `prepared=False`) the R9.1 preparation phases ticked for every item."""
    with world.scope():
        task.refresh_from_db()
        assert task.state == TaskState.READY, task.state
        task_transition(agency=world.agency, task=task, to=TaskState.IN_APPROVAL)
        TaskItem.objects.filter(task=task, state=ItemState.READY).update(state=ItemState.IN_APPROVAL)
        task_transition(agency=world.agency, task=task, to=TaskState.APPROVED)
        TaskItem.objects.filter(task=task, state=ItemState.IN_APPROVAL).update(state=ItemState.APPROVED)
        task.refresh_from_db()
    if prepared:
        prepare_all(world, task)
    return task


__all__ = ["PDF", "PNG", "io", "upload", "clean", "run_precheck", "approve", "prepare_all"]
