import pytest
from django_scopes import scope

from approvals.models import ApprovalRound, SignatureRequest
from approvals.services.decisions import approval_decide, task_submit
from notifications.models import OutboundMessage
from shutdown.events import chain_verify
from shutdown.states import ItemState, TaskState

from .helpers import make_task, three_levels


@pytest.mark.django_db
def test_three_levels_then_signatures(world_a, world_b):
    three_levels(world_a)
    world_a.users["operator2"] = None
    task = make_task(world_a)
    a = world_a.agency
    with scope(agency=a):
        # the admin submits (so the operator may decide at level 1)
        task_submit(agency=a, task=task, actor=world_a.user("admin"))
        assert task.state == TaskState.IN_APPROVAL
        approval_decide(agency=a, task=task, actor=world_a.user("operator"), decision="approve")
        approval_decide(agency=a, task=task, actor=world_a.user("legal"), decision="approve")
        approval_decide(agency=a, task=task, actor=world_a.user("finance"), decision="approve")
        task.refresh_from_db()
        assert task.state == TaskState.APPROVED
        assert set(task.items.values_list("state", flat=True)) == {ItemState.APPROVED}
        assert SignatureRequest.objects.filter(task=task).count() == 2
        assert ApprovalRound.objects.get(task=task).state == "approved"
        assert chain_verify(task=task)["ok"]
        assert OutboundMessage.objects.filter(kind="signing_link").count() == 4
