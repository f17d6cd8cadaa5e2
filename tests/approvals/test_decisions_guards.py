"""Approval rules that once broke with every test green (issue 20: surviving mutants).

Each test is what an approver or submitter would notice: a decision accepted that should be
refused, a level carried over from another task, a reminder about a task nobody waits for.
"""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from agency.exceptions import Conflict
from approvals.models import Appeal, ApprovalRound, ApprovalStage
from approvals.selectors import inbox_for_user
from approvals.services.decisions import (
    appeal_decide,
    appeal_file,
    approval_decide,
    task_submit,
    task_withdraw,
)
from approvals.services.delegations import delegation_create
from approvals.services.sla import approval_sla_sweep_all
from notifications.models import OutboundMessage
from shutdown.services.lifecycle import task_cancel
from shutdown.states import ItemState, TaskState
from tests.builders import make_task

from .helpers import three_levels

pytestmark = pytest.mark.django_db


def _decide(world, task, role, decision="approve", comment="ok"):
    with scope(agency=world.agency):
        return approval_decide(
            agency=world.agency, task=task, actor=world.user(role), decision=decision, comment=comment
        )


def _submit(world, task, role="admin"):
    with scope(agency=world.agency):
        return task_submit(agency=world.agency, task=task, actor=world.user(role))


def _ready_again(world, task):
    """The submitter fixed the task after a rejection and the checks passed again."""
    with scope(agency=world.agency):
        task.items.update(state=ItemState.READY)
        type(task).objects.filter(pk=task.pk).update(state=TaskState.READY)
    task.refresh_from_db()


def _appeal_upheld(world, task):
    with scope(agency=world.agency):
        appeal = appeal_file(agency=world.agency, task=task, actor=world.user("admin"), reason="材料已补")
        return appeal_decide(agency=world.agency, appeal=appeal, actor=world.user("owner"), uphold=True)


def _open_position(task):
    with scope(agency=task.agency):
        rnd = ApprovalRound.objects.filter(task=task).order_by("-number").first()
        stage = ApprovalStage.objects.filter(round=rnd, state="open").first()
        return stage.position if stage else None


def _sla_reminders():
    with scopes_disabled():
        return OutboundMessage.objects.filter(kind="approval_sla_reminder").count()


def test_a_delegation_that_starts_next_week_does_not_let_the_delegate_decide_yet(world_a):
    three_levels(world_a)
    now = timezone.now()
    with scope(agency=world_a.agency):
        delegation_create(
            agency=world_a.agency,
            delegator=world_a.user("legal"),
            delegate=world_a.user("finance"),
            starts_at=now + timedelta(days=7),
            ends_at=now + timedelta(days=14),
            reason="下周休假",
            actor=world_a.user("legal"),
        )
    task = make_task(world_a)
    _submit(world_a, task)
    _decide(world_a, task, "operator")
    with scope(agency=world_a.agency):
        assert inbox_for_user(world_a.user("finance")) == []  # nothing waits for finance yet
    with pytest.raises(Conflict, match="not yours"):
        _decide(world_a, task, "finance")
    assert _open_position(task) == 2  # the legal level still waits for legal
    with time_machine.travel(now + timedelta(days=8)):
        decision = _decide(world_a, task, "finance")  # next week, the delegate decides for legal
    assert decision.vote_of == world_a.user("legal")


def test_an_upheld_appeal_of_another_task_carries_nothing_over(world_a):
    """Task A's upheld (unused) appeal must not carry levels over on task B's resubmission."""
    three_levels(world_a)
    task_a = make_task(world_a, title="A")
    _submit(world_a, task_a)
    _decide(world_a, task_a, "operator")
    _decide(world_a, task_a, "legal", decision="reject", comment="缺授权书")
    _appeal_upheld(world_a, task_a)  # not resubmitted yet: the appeal is unused

    task_b = make_task(world_a, title="B")
    _submit(world_a, task_b)
    _decide(world_a, task_b, "operator", decision="reject", comment="名单有误")
    _ready_again(world_a, task_b)
    _submit(world_a, task_b)
    assert _open_position(task_b) == 1  # B had no appeal: the operator decides again from level 1
    with scope(agency=world_a.agency):
        assert not Appeal.objects.get(task=task_a).used  # A's appeal is still there for A


def _rejected_at_the_last_level(world, title):
    task = make_task(world, title=title)
    _submit(world, task)
    _decide(world, task, "operator")
    _decide(world, task, "legal")
    _decide(world, task, "finance", decision="reject", comment="费用未结")
    return task


def test_an_upheld_appeal_carries_over_up_to_its_own_rejected_level_not_another_tasks(world_a):
    """Other tasks rejected at the last level (one older, one newer) must not decide how far B carries over."""
    three_levels(world_a)
    _rejected_at_the_last_level(world_a, "A")
    task_b = make_task(world_a, title="B")  # rejected at level 1, appeal upheld
    _submit(world_a, task_b)
    _decide(world_a, task_b, "operator", decision="reject", comment="名单有误")
    _appeal_upheld(world_a, task_b)
    _rejected_at_the_last_level(world_a, "C")
    _ready_again(world_a, task_b)
    _submit(world_a, task_b)
    task_b.refresh_from_db()
    assert task_b.state == TaskState.IN_APPROVAL  # not approved outright on another task's rejection
    assert _open_position(task_b) == 2  # level 1 carried over, legal decides


def test_after_a_rejection_the_levels_that_never_opened_are_closed(world_a):
    three_levels(world_a)
    task = make_task(world_a)
    _submit(world_a, task)
    _decide(world_a, task, "operator", decision="reject", comment="名单有误")
    with scope(agency=world_a.agency):
        states = list(
            ApprovalStage.objects.filter(task=task).order_by("position").values_list("state", flat=True)
        )
    assert states == ["rejected", "closed", "closed"]


def test_a_withdrawn_task_leaves_no_open_level_and_nobody_is_reminded(world_a):
    three_levels(world_a)
    task = make_task(world_a)
    _submit(world_a, task)
    with scope(agency=world_a.agency):
        task_withdraw(agency=world_a.agency, task=task, actor=world_a.user("admin"), comment="要改名单")
        assert not ApprovalStage.objects.filter(task=task, state__in=["open", "waiting"]).exists()
        rnd = ApprovalRound.objects.get(task=task)
    assert rnd.state == ApprovalRound.State.WITHDRAWN
    with time_machine.travel(timezone.now() + timedelta(hours=30)):
        assert approval_sla_sweep_all() == {"reminded": 0, "escalated": 0}
    assert _sla_reminders() == 0


def test_a_cancelled_task_leaves_no_open_level_and_nobody_is_reminded(world_a):
    three_levels(world_a)
    task = make_task(world_a)
    _submit(world_a, task)
    with scope(agency=world_a.agency):
        task_cancel(agency=world_a.agency, task=task, actor=world_a.user("owner"), comment="战略调整")
        assert not ApprovalStage.objects.filter(task=task, state__in=["open", "waiting"]).exists()
    with time_machine.travel(timezone.now() + timedelta(hours=30)):
        assert approval_sla_sweep_all() == {"reminded": 0, "escalated": 0}


def test_the_final_approval_closes_the_round_as_approved(world_a):
    three_levels(world_a)
    task = make_task(world_a)
    _submit(world_a, task)
    for role in ("operator", "legal", "finance"):
        _decide(world_a, task, role)
    with scope(agency=world_a.agency):
        rnd = ApprovalRound.objects.get(task=task)
    assert rnd.state == ApprovalRound.State.APPROVED
    assert rnd.closed_at is not None
    task.refresh_from_db()
    assert task.state == TaskState.APPROVED


def test_an_appeal_carried_over_to_the_last_level_approves_and_closes_the_round(world_a):
    three_levels(world_a)
    task = make_task(world_a)
    _submit(world_a, task)
    _decide(world_a, task, "operator")
    _decide(world_a, task, "legal")
    _decide(world_a, task, "finance", decision="reject", comment="费用未结")
    _appeal_upheld(world_a, task)
    _ready_again(world_a, task)
    rnd = _submit(world_a, task)
    task.refresh_from_db()
    assert task.state == TaskState.APPROVED
    with scope(agency=world_a.agency):
        assert ApprovalRound.objects.get(pk=rnd.pk).state == ApprovalRound.State.APPROVED


def test_an_operator_who_did_not_submit_may_appeal_a_legal_member_may_not(world_a):
    three_levels(world_a)
    task = make_task(world_a)
    _submit(world_a, task, role="admin")
    _decide(world_a, task, "operator", decision="reject", comment="名单有误")
    with scope(agency=world_a.agency):
        with pytest.raises(Conflict, match="submitter or an operator"):
            appeal_file(agency=world_a.agency, task=task, actor=world_a.user("legal"), reason="我觉得可以")
        appeal = appeal_file(
            agency=world_a.agency, task=task, actor=world_a.user("operator"), reason="材料已补"
        )
    assert appeal.appellant == world_a.user("operator")


def test_an_appeal_is_decided_once(world_a):
    three_levels(world_a)
    task = make_task(world_a)
    _submit(world_a, task)
    _decide(world_a, task, "operator", decision="reject", comment="名单有误")
    appeal = _appeal_upheld(world_a, task)
    with scope(agency=world_a.agency), pytest.raises(Conflict, match="already been decided"):
        appeal_decide(agency=world_a.agency, appeal=appeal, actor=world_a.user("owner"), uphold=False)
    with scope(agency=world_a.agency):
        assert Appeal.objects.get(pk=appeal.pk).state == Appeal.State.UPHELD


def test_a_rejection_is_appealed_only_while_the_task_is_in_draft(world_a):
    three_levels(world_a)
    task = make_task(world_a)
    _submit(world_a, task)
    _decide(world_a, task, "operator", decision="reject", comment="名单有误")
    _ready_again(world_a, task)  # fixed and checked again: no longer in draft
    with scope(agency=world_a.agency), pytest.raises(Conflict, match="task in draft"):
        appeal_file(agency=world_a.agency, task=task, actor=world_a.user("admin"), reason="材料已补")


def test_the_submitter_may_appeal_even_after_losing_the_operator_role(world_a):
    from accounts.models import Membership

    three_levels(world_a)
    task = make_task(world_a)
    _submit(world_a, task, role="admin")
    _decide(world_a, task, "operator", decision="reject", comment="名单有误")
    Membership.objects.filter(user=world_a.user("admin"), agency=world_a.agency).update(role="legal")
    with scope(agency=world_a.agency):
        appeal = appeal_file(agency=world_a.agency, task=task, actor=world_a.user("admin"), reason="材料已补")
    assert appeal.appellant == world_a.user("admin")


def test_the_timeline_says_on_whose_behalf_a_delegate_decided(world_a):
    three_levels(world_a)
    now = timezone.now()
    with scope(agency=world_a.agency):
        delegation_create(
            agency=world_a.agency,
            delegator=world_a.user("legal"),
            delegate=world_a.user("finance"),
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(days=3),
            reason="休假",
            actor=world_a.user("legal"),
        )
    task = make_task(world_a)
    _submit(world_a, task)
    _decide(world_a, task, "operator")
    _decide(world_a, task, "finance")  # for legal
    with scope(agency=world_a.agency):
        data = [e.data for e in task.events.filter(kind="approval.approve").order_by("seq")]
    assert [d["on_behalf_of"] for d in data] == [None, world_a.user("legal").pk]
