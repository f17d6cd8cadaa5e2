"""Demo deadlines (demo-mcn only, idempotent): the approvals demo's task A is carried to the end
through the real services — its last owners sign, execution starts and the first tier's
accounts are marked done — so the deadlines, the timeline and the reminders are there to see."""

from accounts.models import User
from approvals.demo import TITLE_A, _owner_signs
from approvals.models import SignatureRequest
from shutdown.models import ShutdownTask, TaskItem, Tier
from shutdown.services.execution import execution_start, item_mark_done
from shutdown.states import ItemState, TaskState

from .models import Deadline


def seed_demo_data(*, agency) -> None:
    if agency.slug != "demo-mcn" or Deadline.objects.exists():
        return
    task = ShutdownTask.objects.filter(title=TITLE_A, state=TaskState.APPROVED).first()
    operator = User.objects.filter(email=f"operator@{agency.slug}.cn").first()
    if task is None or operator is None:
        return
    for req in SignatureRequest.objects.filter(task=task, state=SignatureRequest.State.PENDING).order_by("pk"):
        _owner_signs(req=req, channel="sms" if req.mobile else "email")
    execution_start(agency=agency, task=task, actor=operator)
    tier = Tier.objects.filter(task=task, state=Tier.State.OPEN).order_by("position").first()
    if tier is None:
        return
    for n, item in enumerate(TaskItem.objects.filter(tier=tier, state=ItemState.EXECUTING).order_by("pk"), 1):
        item_mark_done(agency=agency, item=item, actor=operator, receipt_number=f"DEMO-2026-{n:04d}")
