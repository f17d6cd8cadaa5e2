"""Demo deadlines (demo-mcn only, idempotent): the approvals demo's task A is carried on
through the real services — its last owners sign, its accounts are split into two tiers, the
first tier's preparation phases (R9.1) are ticked, execution starts and the first tier's
accounts are marked done — so the deadlines, the timeline and the reminders are there to see.
The second tier waits for its preparation checklist (only the export is ticked there)."""

from accounts.models import User
from approvals.demo import TITLE_A, _owner_signs
from approvals.models import SignatureRequest
from shutdown.models import PreparationPhase, ShutdownTask, TaskItem, Tier
from shutdown.services.execution import execution_start, item_mark_done
from shutdown.services.preparation import preparation_mark
from shutdown.states import ItemState, TaskState

from .models import Deadline, DeadlineKind


def seed_demo_data(*, agency) -> None:
    # (the shutdown demo's shell transition stores its own check-ins first: R9.2)
    shell = (DeadlineKind.SHELL_TRANSITION, DeadlineKind.SHELL_CHECKIN)
    if agency.slug != "demo-mcn" or Deadline.objects.exclude(kind__in=shell).exists():
        return
    task = ShutdownTask.objects.filter(title=TITLE_A, state=TaskState.APPROVED).first()
    operator = User.objects.filter(email=f"operator@{agency.slug}.cn").first()
    if task is None or operator is None:
        return
    for req in SignatureRequest.objects.filter(task=task, state=SignatureRequest.State.PENDING).order_by("pk"):
        _owner_signs(req=req, channel="sms" if req.mobile else "email")
    _second_tier_waits_for_preparation(agency=agency, task=task, actor=operator)
    execution_start(agency=agency, task=task, actor=operator)
    tier = Tier.objects.filter(task=task, state=Tier.State.OPEN).order_by("position").first()
    if tier is None:
        return
    for n, item in enumerate(TaskItem.objects.filter(tier=tier, state=ItemState.EXECUTING).order_by("pk"), 1):
        item_mark_done(agency=agency, item=item, actor=operator, receipt_number=f"DEMO-2026-{n:04d}")


def _second_tier_waits_for_preparation(*, agency, task, actor) -> None:
    """Half of the accounts move to a second tier; the first tier is fully prepared (R9.1), the
    second has only its interaction data exported, so it waits for its checklist."""
    items = list(TaskItem.objects.filter(task=task, state=ItemState.APPROVED).order_by("pk").values_list("pk",
                                                                                                        flat=True))
    first, second = items[: max(1, len(items) // 2)], items[max(1, len(items) // 2):]
    if second:
        last = Tier.objects.filter(task=task).order_by("-position").values_list("position", flat=True).first() or 0
        tier = Tier.objects.create(agency=agency, task=task, position=last + 1, name="第二批（待完成准备清单）")
        TaskItem.objects.filter(pk__in=second).update(tier=tier)
    for phase in PreparationPhase.values:
        preparation_mark(agency=agency, task=task, actor=actor, phase=phase, item_ids=first,
                         note="演示：准备工作已完成。")
    if second:
        preparation_mark(agency=agency, task=task, actor=actor, phase=PreparationPhase.EXPORT_INTERACTION,
                         item_ids=second, note="演示：已导出近半年互动数据。")
