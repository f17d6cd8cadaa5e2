"""Level-by-level approval: what approvers and submitters notice."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from django_scopes import scope

from agency.exceptions import Conflict, DomainValidationError
from approvals.models import Appeal, ApprovalDecision, ApprovalRound, ApprovalStage
from approvals.services.decisions import (
    appeal_decide,
    appeal_file,
    approval_decide,
    task_submit,
    task_withdraw,
)
from approvals.services.delegations import delegation_create
from approvals.services.policy import approval_policy_save
from approvals.services.sla import approval_sla_sweep, approval_sla_sweep_all
from notifications.models import OutboundMessage
from shutdown.events import chain_verify
from shutdown.models import TaskItem
from shutdown.services.lifecycle import task_cancel
from shutdown.states import ItemState, TaskState
from tests.builders import make_task
from tests.factories import MembershipFactory, UserFactory

from .helpers import three_levels


def _decide(world, task, role, decision="approve", comment="ok", user=None):
    with scope(agency=world.agency):
        return approval_decide(agency=world.agency, task=task, actor=user or world.user(role), decision=decision,
                               comment=comment)


def _submit(world, task, role="admin"):
    with scope(agency=world.agency):
        return task_submit(agency=world.agency, task=task, actor=world.user(role))


def _open_level(task):
    with scope(agency=task.agency):
        stage = ApprovalStage.objects.filter(task=task, state="open").order_by("-round__number").first()
        return stage.position if stage else None


@pytest.mark.django_db
def test_submit_freezes_the_content_and_opens_level_one(world_a):
    three_levels(world_a)
    task = make_task(world_a, items=3)
    rnd = _submit(world_a, task)
    task.refresh_from_db()
    assert task.state == TaskState.IN_APPROVAL
    assert len(task.content_hash) == 64
    assert task.content_hash == rnd.content_hash
    assert task.submitted_by == world_a.user("admin")
    assert task.submitted_at is not None
    with scope(agency=world_a.agency):
        assert set(TaskItem.objects.filter(task=task).values_list("state", flat=True)) == {ItemState.IN_APPROVAL}
        assert OutboundMessage.objects.filter(kind="approval_request", recipient_user=world_a.user("operator")
                                              ).exists()
    assert _open_level(task) == 1


@pytest.mark.django_db
def test_only_a_ready_task_can_be_submitted(world_a):
    task = make_task(world_a, state=TaskState.DRAFT)
    with pytest.raises(Conflict, match="ready"):
        _submit(world_a, task)


@pytest.mark.django_db
def test_levels_open_one_after_the_other_and_the_last_approves(world_a):
    three_levels(world_a)
    task = make_task(world_a)
    _submit(world_a, task)
    with pytest.raises(Conflict, match="Level 1"):
        _decide(world_a, task, "legal")  # level 2 is not open yet
    _decide(world_a, task, "operator")
    assert _open_level(task) == 2
    _decide(world_a, task, "legal")
    _decide(world_a, task, "finance")
    task.refresh_from_db()
    assert task.state == TaskState.APPROVED
    with scope(agency=world_a.agency):
        assert set(task.items.values_list("state", flat=True)) == {ItemState.APPROVED}
        kinds = list(task.events.values_list("kind", flat=True))
        assert chain_verify(task=task)["ok"]
    assert kinds.count("approval.approve") == 3
    assert "approval.approved" in kinds


@pytest.mark.django_db
def test_the_submitter_never_approves_their_own_task(world_a):
    three_levels(world_a)
    task = make_task(world_a)
    _submit(world_a, task, role="operator")  # the only operator submits: level 1 has nobody left
    with pytest.raises(Conflict, match="submitted this task"):
        _decide(world_a, task, "operator")
    with scope(agency=world_a.agency):
        stage = ApprovalStage.objects.get(task=task, position=1)
    assert stage.approver_ids == []
    assert stage.escalated_to_ids == [world_a.user("owner").pk]
    _decide(world_a, task, "owner")  # the owner decides in its place
    assert _open_level(task) == 2


@pytest.mark.django_db
def test_nobody_decides_twice_nor_at_two_levels(world_a):
    with scope(agency=world_a.agency):
        approval_policy_save(agency=world_a.agency, name="双法务", levels=[
            {"name": "A", "role": "legal", "sla_hours": 24}, {"name": "B", "role": "legal", "sla_hours": 24}])
    legal2 = UserFactory(email="legal2@alpha-mcn.test")
    MembershipFactory(user=legal2, agency=world_a.agency, role="legal")
    task = make_task(world_a)
    _submit(world_a, task)
    _decide(world_a, task, "legal")
    with pytest.raises(Conflict, match="already decided"):
        _decide(world_a, task, "legal")  # level 2 is also legal: not the same person
    _decide(world_a, task, "legal", user=legal2)
    task.refresh_from_db()
    assert task.state == TaskState.APPROVED


@pytest.mark.django_db
def test_reject_needs_a_reason_goes_back_to_draft_and_resubmission_starts_at_level_one(world_a):
    three_levels(world_a)
    task = make_task(world_a)
    _submit(world_a, task)
    _decide(world_a, task, "operator")
    with pytest.raises(DomainValidationError, match="reason"):
        _decide(world_a, task, "legal", decision="reject", comment="  ")
    _decide(world_a, task, "legal", decision="reject", comment="合同未到期")
    task.refresh_from_db()
    assert task.state == TaskState.DRAFT
    with scope(agency=world_a.agency):
        assert set(task.items.values_list("state", flat=True)) == {ItemState.DRAFT}
        msg = OutboundMessage.objects.get(kind="task_rejected", channel="inapp")
    assert msg.recipient_user == world_a.user("admin")
    assert msg.params["reason"] == "合同未到期"
    # fixed and checked again (the shutdown app's job), then resubmitted
    with scope(agency=world_a.agency):
        task.items.update(state=ItemState.READY)
    with scope(agency=world_a.agency):
        type(task).objects.filter(pk=task.pk).update(state=TaskState.READY)
    task.refresh_from_db()
    rnd2 = _submit(world_a, task)
    assert rnd2.number == 2
    assert _open_level(task) == 1
    _decide(world_a, task, "operator")  # a new round: the operator may decide again
    with scope(agency=world_a.agency):
        rounds = list(ApprovalRound.objects.filter(task=task).order_by("number").values_list("state", flat=True))
        assert ApprovalDecision.objects.filter(task=task).count() == 3  # history kept
    assert rounds == ["rejected", "in_progress"]


@pytest.mark.django_db
def test_withdraw_only_by_the_submitter_before_the_last_level(world_a):
    three_levels(world_a)
    task = make_task(world_a)
    _submit(world_a, task)
    with scope(agency=world_a.agency), pytest.raises(Conflict, match="submitted"):
        task_withdraw(agency=world_a.agency, task=task, actor=world_a.user("owner"))
    _decide(world_a, task, "operator")
    _decide(world_a, task, "legal")
    with scope(agency=world_a.agency), pytest.raises(Conflict, match="last level"):
        task_withdraw(agency=world_a.agency, task=task, actor=world_a.user("admin"))
    task2 = make_task(world_a, title="B")
    _submit(world_a, task2)
    with scope(agency=world_a.agency):
        task_withdraw(agency=world_a.agency, task=task2, actor=world_a.user("admin"), comment="要改名单")
    task2.refresh_from_db()
    assert task2.state == TaskState.DRAFT


@pytest.mark.django_db
def test_owner_cancels_with_a_reason(world_a):
    three_levels(world_a)
    task = make_task(world_a)
    _submit(world_a, task)
    with scope(agency=world_a.agency):
        with pytest.raises(DomainValidationError):
            task_cancel(agency=world_a.agency, task=task, actor=world_a.user("owner"), comment="")
        task_cancel(agency=world_a.agency, task=task, actor=world_a.user("owner"), comment="战略调整")
        assert set(task.items.values_list("state", flat=True)) == {ItemState.CANCELLED}
        # The shutdown lifecycle's `task_cancelled` signal closed the approvals' round in progress.
        rnd = ApprovalRound.objects.get(task=task)
        assert rnd.state == ApprovalRound.State.CANCELLED and rnd.closed_at is not None
        assert not ApprovalStage.objects.filter(round=rnd, state__in=["open", "waiting"]).exists()
        kinds = list(task.events.order_by("seq").values_list("kind", flat=True))
        assert kinds[-2:] == ["approval.cancelled", "items.cancelled"]
    task.refresh_from_db()
    assert task.state == TaskState.CANCELLED
    with pytest.raises(Conflict):
        _decide(world_a, task, "operator")


@pytest.mark.django_db
def test_mode_all_and_n_of_m(world_a):
    legal2 = UserFactory(email="legal2@alpha-mcn.test")
    MembershipFactory(user=legal2, agency=world_a.agency, role="legal")
    with scope(agency=world_a.agency):
        approval_policy_save(agency=world_a.agency, name="p", levels=[
            {"name": "全体法务", "role": "legal", "mode": "all", "sla_hours": 24},
            {"name": "二选一", "members": [world_a.user("finance"), world_a.user("owner"), world_a.user("operator")],
             "mode": "n_of_m", "required_count": 2, "sla_hours": 24},
        ])
    task = make_task(world_a)
    _submit(world_a, task)
    _decide(world_a, task, "legal")
    assert _open_level(task) == 1  # all legal members must approve
    _decide(world_a, task, "legal", user=legal2)
    assert _open_level(task) == 2
    _decide(world_a, task, "finance")
    assert _open_level(task) == 2
    with pytest.raises(Conflict):
        _decide(world_a, task, "auditor")  # not named
    _decide(world_a, task, "owner")
    task.refresh_from_db()
    assert task.state == TaskState.APPROVED


@pytest.mark.django_db
def test_a_delegate_decides_on_behalf_of_the_approver(world_a):
    three_levels(world_a)
    now = timezone.now()
    with scope(agency=world_a.agency):
        delegation_create(agency=world_a.agency, delegator=world_a.user("legal"), delegate=world_a.user("finance"),
                          starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=3), reason="休假",
                          actor=world_a.user("legal"))
    task = make_task(world_a)
    _submit(world_a, task)
    _decide(world_a, task, "operator")
    decision = _decide(world_a, task, "finance")  # at the legal level, for legal
    assert decision.vote_of == world_a.user("legal")
    assert decision.decided_by == world_a.user("finance")
    with pytest.raises(Conflict):
        _decide(world_a, task, "legal")  # their vote has been cast
    assert _open_level(task) == 3  # finance already decided, so the owner takes the finance level
    with scope(agency=world_a.agency):
        assert ApprovalStage.objects.get(task=task, position=3).escalated_to_ids == [world_a.user("owner").pk]


@pytest.mark.django_db
def test_delegation_rejects_members_of_other_agencies(world_a, world_b):
    now = timezone.now()
    with scope(agency=world_a.agency), pytest.raises(DomainValidationError) as exc:
        delegation_create(agency=world_a.agency, delegator=world_a.user("legal"), delegate=world_b.user("legal"),
                          starts_at=now, ends_at=now + timedelta(days=1), actor=world_a.user("legal"))
    assert "delegate" in exc.value.details


@pytest.mark.django_db
def test_sla_reminds_then_escalates_to_the_owner_once(world_a):
    three_levels(world_a)
    task = make_task(world_a)
    _submit(world_a, task)
    start = timezone.now()
    with time_machine.travel(start + timedelta(hours=25), tick=False):
        assert approval_sla_sweep_all() == {"reminded": 1, "escalated": 0}
        assert approval_sla_sweep_all() == {"reminded": 0, "escalated": 0}  # idempotent
    with time_machine.travel(start + timedelta(hours=49), tick=False), scope(agency=world_a.agency):
        assert approval_sla_sweep(agency=world_a.agency) == {"reminded": 0, "escalated": 1}
        assert approval_sla_sweep(agency=world_a.agency) == {"reminded": 0, "escalated": 0}
        assert OutboundMessage.objects.filter(kind="approval_sla_reminder", channel="email").count() == 1
        assert OutboundMessage.objects.filter(kind="approval_escalated", recipient_user=world_a.user("owner"),
                                              channel="inapp").count() == 1
    decision = _decide(world_a, task, "owner")
    assert decision.escalated
    assert _open_level(task) == 2


@pytest.mark.django_db
def test_content_changed_after_submission_is_refused(world_a):
    three_levels(world_a)
    task = make_task(world_a)
    _submit(world_a, task)
    with scope(agency=world_a.agency):
        item = task.items.first()
        TaskItem.objects.filter(pk=item.pk).update(topic_transfer_target="新账号")
    with pytest.raises(Conflict, match="changed"):
        _decide(world_a, task, "operator")


@pytest.mark.django_db
def test_an_upheld_appeal_carries_the_approvals_over_on_resubmission(world_a):
    three_levels(world_a)
    task = make_task(world_a)
    _submit(world_a, task)
    _decide(world_a, task, "operator")
    _decide(world_a, task, "legal", decision="reject", comment="缺授权书")
    with scope(agency=world_a.agency):
        with pytest.raises(DomainValidationError):
            appeal_file(agency=world_a.agency, task=task, actor=world_a.user("admin"), reason="")
        appeal = appeal_file(agency=world_a.agency, task=task, actor=world_a.user("admin"), reason="授权书已附")
        assert OutboundMessage.objects.filter(kind="approval_appeal", recipient_user=world_a.user("owner")).exists()
        with pytest.raises(Conflict, match="owner"):
            appeal_decide(agency=world_a.agency, appeal=appeal, actor=world_a.user("admin"), uphold=True)
        appeal_decide(agency=world_a.agency, appeal=appeal, actor=world_a.user("owner"), uphold=True)
        task.items.update(state=ItemState.READY)
        type(task).objects.filter(pk=task.pk).update(state=TaskState.READY)
    task.refresh_from_db()
    _submit(world_a, task)
    assert _open_level(task) == 3  # levels 1 and 2 carried over; finance decides
    with scope(agency=world_a.agency):
        assert Appeal.objects.get(pk=appeal.pk).used
