"""Low-level state transitions. Every use-case service goes through these: they lock
the row, check the state machine (409 on an illegal move) and write the audit event."""

from django.db import transaction

from shutdown.events import event_record
from shutdown.models import ShutdownTask, TaskItem
from shutdown.states import check_item_transition, check_task_transition


def task_transition(*, agency, task: ShutdownTask, to: str, actor=None, kind: str | None = None,
                    data: dict | None = None, ip_address=None, user_agent: str = "") -> ShutdownTask:
    with transaction.atomic():
        locked = ShutdownTask.objects.select_for_update().get(pk=task.pk)
        check_task_transition(locked.state, to)
        before = locked.state
        locked.state = to
        locked.save(update_fields=["state", "updated_at"])
        event_record(
            agency=agency, task=locked, kind=kind or f"task.{to}", actor=actor,
            data={"from": before, "to": to, **(data or {})}, ip_address=ip_address, user_agent=user_agent,
        )
    task.state = locked.state
    return locked


def item_transition(*, agency, item: TaskItem, to: str, actor=None, kind: str | None = None,
                    data: dict | None = None, record: bool = True) -> TaskItem:
    with transaction.atomic():
        locked = TaskItem.objects.select_for_update().get(pk=item.pk)
        check_item_transition(locked.state, to)
        before = locked.state
        locked.state = to
        locked.save(update_fields=["state", "updated_at"])
        if record:
            event_record(
                agency=agency, task=locked.task, item=locked, kind=kind or f"item.{to}", actor=actor,
                data={"from": before, "to": to, "sub_account": locked.sub_account_id, **(data or {})},
            )
    item.state = locked.state
    return locked
