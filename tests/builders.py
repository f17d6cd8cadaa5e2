"""The one builder of shutdown tasks for every test package."""

from django_scopes import scopes_disabled

from shutdown.models import ShutdownTask, TaskItem, Tier
from shutdown.services.tasks import task_create
from shutdown.states import ItemState, TaskState
from tests.factories import SubAccountFactory

OPERATOR = object()  # created_by default: the world's operator


def make_task(world, accounts=None, *, service: bool | None = None, items: int = 2, strategy: str = "shutdown",
              title: str | None = None, created_by=OPERATOR, state: str = TaskState.READY, tier: bool = True,
              **service_kwargs) -> ShutdownTask:
    """A shutdown task of `world`'s agency on `accounts` (or on `items` new sub-accounts).

    service=True (the default when accounts are given): created by shutdown.services.tasks.task_create
    as the operator, with its rules, tiers and items; service_kwargs go to it (tier_rule, batch_size,
    matrix_target…); default title “清理矩阵”.

    service=False: rows written directly, skipping the service: the task in `state` created by
    `created_by` (None: nobody), one tier “第一批” holding the items unless tier=False, the items READY
    when the task is READY and DRAFT otherwise; default title “批量关停 A”.
    """
    if service is None:
        service = accounts is not None
    if service:
        with world.scope():
            return task_create(agency=world.agency, actor=world.user("operator"), title=title or "清理矩阵",
                               strategy=strategy, sub_account_ids=[a.pk for a in accounts], **service_kwargs)
    assert not service_kwargs, f"only the service takes {sorted(service_kwargs)}"
    if accounts is None:
        accounts = [SubAccountFactory(agency=world.agency) for _ in range(items)]
    if created_by is OPERATOR:
        created_by = world.user("operator")
    with world.scope():
        task = ShutdownTask.objects.create(agency=world.agency, title=title or "批量关停 A", strategy=strategy,
                                           state=state, created_by=created_by)
        task_tier = Tier.objects.create(agency=world.agency, task=task, position=1, name="第一批") if tier else None
        for account in accounts:
            TaskItem.objects.create(agency=world.agency, task=task, tier=task_tier, sub_account=account,
                                    state=ItemState.READY if state == TaskState.READY else ItemState.DRAFT)
    return task


def only_item(task: ShutdownTask) -> TaskItem:
    """The single item of a task built on one account."""
    with scopes_disabled():
        return TaskItem.objects.get(task=task)
