"""transitions.task_state_roll_up: the one place where item states decide the task state."""

import pytest

from shutdown.models import TaskEvent, TaskItem, Tier
from shutdown.services import execution
from shutdown.services.transitions import task_state_roll_up, task_transition
from shutdown.states import ItemState, TaskState
from tests.builders import make_task
from tests.factories import SubAccountFactory

from .helpers import approve, clean, run_precheck


@pytest.fixture
def accounts(world_a):
    return [SubAccountFactory(agency=world_a.agency, platform=p, **clean()) for p in ("douyin", "wechat", "bilibili")]


def _prepared(world, accounts, task_state, item_states):
    """A task in `task_state` whose items (one per account) are in `item_states`."""
    task = make_task(world, accounts)
    with world.scope():
        if task_state != TaskState.DRAFT:
            task_transition(agency=world.agency, task=task, to=TaskState.CHECKING)
        if task_state not in (TaskState.DRAFT, TaskState.CHECKING):
            task_transition(agency=world.agency, task=task, to=task_state)
        for item, state in zip(TaskItem.objects.filter(task=task).order_by("pk"), item_states, strict=True):
            TaskItem.objects.filter(pk=item.pk).update(state=state)
    return task


R, B, D, C, X, K = (ItemState.READY, ItemState.BLOCKED, ItemState.DRAFT, ItemState.CHECKING, ItemState.EXCLUDED,
                    ItemState.CANCELLED)


@pytest.mark.parametrize(("task_state", "item_states", "expected"), [
    # the end of a pre-check run (the task is checking, no item is any more)
    (TaskState.CHECKING, [R, R, R], TaskState.READY),
    (TaskState.CHECKING, [R, B, R], TaskState.BLOCKED),
    (TaskState.CHECKING, [R, X, R], TaskState.READY),  # excluded items do not count
    (TaskState.CHECKING, [X, X, K], TaskState.DRAFT),  # no active item left
    (TaskState.CHECKING, [R, D, R], TaskState.DRAFT),  # an item restored during the run waits for its check
    (TaskState.CHECKING, [D, B, R], TaskState.DRAFT),  # unchecked wins over blocked
    # items still being checked: the run settles the task
    (TaskState.CHECKING, [C, B, R], TaskState.CHECKING),
    # after an item was excluded or restored
    (TaskState.BLOCKED, [R, X, R], TaskState.READY),
    (TaskState.BLOCKED, [R, B, D], TaskState.DRAFT),
    (TaskState.READY, [R, R, D], TaskState.DRAFT),
    # a draft only becomes ready or blocked, a ready task only blocked, through a pre-check
    # (the state machine says so)
    (TaskState.READY, [R, B, R], TaskState.READY),
    (TaskState.DRAFT, [R, R, R], TaskState.DRAFT),
    (TaskState.DRAFT, [B, R, R], TaskState.DRAFT),
])
def test_preparation_roll_up(world_a, accounts, task_state, item_states, expected):
    task = _prepared(world_a, accounts, task_state, item_states)
    with world_a.scope():
        task = task_state_roll_up(agency=world_a.agency, task=task)
        task.refresh_from_db()
    assert task.state == expected


def test_roll_up_records_the_move_and_leaves_a_settled_task_alone(world_a, accounts):
    task = _prepared(world_a, accounts, TaskState.BLOCKED, [R, X, R])
    with world_a.scope():
        task_state_roll_up(agency=world_a.agency, task=task, actor=world_a.user("operator"))
        event = TaskEvent.objects.filter(task=task).order_by("-seq").first()
        assert (event.kind, event.data["from"], event.data["to"]) == ("task.ready", "blocked", "ready")
        count = TaskEvent.objects.filter(task=task).count()
        task_state_roll_up(agency=world_a.agency, task=task)
        assert TaskEvent.objects.filter(task=task).count() == count


@pytest.mark.parametrize("task_state", [TaskState.IN_APPROVAL, TaskState.APPROVED, TaskState.CANCELLED])
def test_roll_up_does_not_move_a_task_outside_preparation_and_execution(world_a, accounts, task_state):
    task = _prepared(world_a, accounts, TaskState.READY, [R, R, R])
    with world_a.scope():
        if task_state == TaskState.APPROVED:
            task_transition(agency=world_a.agency, task=task, to=TaskState.IN_APPROVAL)
        task_transition(agency=world_a.agency, task=task, to=task_state)
        TaskItem.objects.filter(task=task).update(state=ItemState.DRAFT)
        task_state_roll_up(agency=world_a.agency, task=task)
        task.refresh_from_db()
    assert task.state == task_state


def test_execution_roll_up_completes_tiers_then_finishes_the_task(world_a, accounts):
    task = approve(world_a, run_precheck(world_a, make_task(world_a, accounts)))
    op = world_a.user("operator")
    with world_a.scope():
        execution.execution_start(agency=world_a.agency, task=task, actor=op)
        tier = Tier.objects.get(task=task)
        first, second, third = TaskItem.objects.filter(task=task).order_by("pk")
        # an executing item keeps the tier open and the task executing
        TaskItem.objects.filter(pk=first.pk).update(state=ItemState.DONE)
        task = task_state_roll_up(agency=world_a.agency, task=task, actor=op)
        tier.refresh_from_db()
        assert (task.state, tier.state) == (TaskState.EXECUTING, Tier.State.OPEN)
        # excluded items do not hold the tier back
        TaskItem.objects.filter(pk=second.pk).update(state=ItemState.EXCLUDED)
        TaskItem.objects.filter(pk=third.pk).update(state=ItemState.DONE)
        task = task_state_roll_up(agency=world_a.agency, task=task, actor=op)
        tier.refresh_from_db()
        assert (task.state, tier.state) == (TaskState.DONE, Tier.State.COMPLETE)
        kinds = list(TaskEvent.objects.filter(task=task).order_by("seq").values_list("kind", flat=True))
        assert kinds[-2:] == ["tier.complete", "task.done"]


def test_execution_roll_up_fails_the_task_when_no_item_took_effect(world_a, accounts):
    task = approve(world_a, run_precheck(world_a, make_task(world_a, accounts[:1])))
    op = world_a.user("operator")
    with world_a.scope():
        execution.execution_start(agency=world_a.agency, task=task, actor=op)
        item = TaskItem.objects.get(task=task)
        execution.item_mark_failed(agency=world_a.agency, item=item, actor=op, reason="平台驳回")
        task.refresh_from_db()
        assert task.state == TaskState.EXECUTING  # a failed item waits for a retry or the tier's close
        execution.tier_close(agency=world_a.agency, tier=Tier.objects.get(task=task), actor=op)
        task.refresh_from_db()
    assert task.state == TaskState.FAILED


def test_excluding_and_restoring_items_roll_up(world_a, accounts):
    blocked = SubAccountFactory(agency=world_a.agency, **clean(open_infringement_complaints=1))
    task = run_precheck(world_a, make_task(world_a, [*accounts, blocked]))
    assert task.state == TaskState.BLOCKED
    op = world_a.user("operator")
    from shutdown.services import tasks as task_services

    with world_a.scope():
        item = TaskItem.objects.get(task=task, sub_account=blocked)
        task_services.item_exclude(agency=world_a.agency, item=item, actor=op)
        task.refresh_from_db()
        assert task.state == TaskState.READY
        task_services.item_restore(agency=world_a.agency, item=item, actor=op)
        task.refresh_from_db()
    assert task.state == TaskState.DRAFT
