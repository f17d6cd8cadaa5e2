"""Approval decisions that broke with every test green (issue 20: surviving mutants, second pass).

Each test is what an approver or a submitter would notice: a decision refused with the wrong
reason, a delegate turned away, a withdrawal accepted or refused for the wrong reason.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import scope

from agency.exceptions import Conflict
from approvals.models import Appeal, ApprovalRound
from approvals.services.decisions import appeal_file, approval_decide, task_submit, task_withdraw
from approvals.services.delegations import delegation_create
from shutdown.models import ShutdownTask
from shutdown.services.lifecycle import task_cancel
from shutdown.states import TaskState
from tests.builders import make_task
from tests.factories import MembershipFactory, UserFactory

from .helpers import three_levels

pytestmark = pytest.mark.django_db


def _decide(world, task, role="operator", decision="approve", comment="ok", user=None):
    with scope(agency=world.agency):
        return approval_decide(
            agency=world.agency, task=task, actor=user or world.user(role), decision=decision, comment=comment
        )


def _submit(world, task, actor):
    with scope(agency=world.agency):
        return task_submit(agency=world.agency, task=task, actor=actor)


def _withdraw(world, task, actor):
    with scope(agency=world.agency):
        task_withdraw(agency=world.agency, task=task, actor=actor, comment="要改名单")


def test_a_decision_on_a_cancelled_task_says_it_is_not_waiting_for_a_decision(world_a):
    three_levels(world_a)
    task = make_task(world_a)
    _submit(world_a, task, world_a.user("admin"))
    with scope(agency=world_a.agency):
        task_cancel(agency=world_a.agency, task=task, actor=world_a.user("owner"), comment="战略调整")
    with pytest.raises(Conflict, match="not waiting for an approval decision") as exc:
        _decide(world_a, task, "operator")  # the operator was the open level's approver
    assert "Cancelled" in str(exc.value)
    assert exc.value.code == "not_allowed_now"


def test_a_decision_on_an_approved_task_says_it_is_not_waiting_for_a_decision(world_a):
    task = make_task(world_a)  # built-in policy: the owner alone
    _submit(world_a, task, world_a.user("admin"))
    _decide(world_a, task, "owner")
    task.refresh_from_db()
    assert task.state == TaskState.APPROVED
    with pytest.raises(Conflict, match="not waiting for an approval decision") as exc:
        _decide(world_a, task, "owner")
    assert "Approved" in str(exc.value)


@pytest.mark.parametrize("state", [TaskState.APPROVED, TaskState.READY])
def test_a_decision_on_a_task_taken_out_of_approval_is_refused_as_not_waiting_even_if_its_round_was_left_open(
    world_a, state
):
    """Another path moved the task on (its state changed directly) and left its round and level
    open: the approver is told the task no longer waits for a decision, not that the level is not theirs."""
    three_levels(world_a)
    task = make_task(world_a)
    _submit(world_a, task, world_a.user("admin"))
    with scope(agency=world_a.agency):
        ShutdownTask.objects.filter(pk=task.pk).update(state=state)
    with pytest.raises(Conflict, match="not waiting for an approval decision"):
        _decide(world_a, task, "operator")


def test_a_decision_on_a_closed_round_is_refused_as_not_waiting_even_if_a_level_was_left_open(world_a):
    three_levels(world_a)
    task = make_task(world_a)
    _submit(world_a, task, world_a.user("admin"))
    with scope(agency=world_a.agency):
        ApprovalRound.objects.filter(task=task).update(state=ApprovalRound.State.CANCELLED)
    with pytest.raises(Conflict, match="not waiting for an approval decision"):
        _decide(world_a, task, "operator")
    with scope(agency=world_a.agency):
        assert not task.events.filter(kind="approval.approve").exists()


def test_a_delegate_decides_for_an_approver_whatever_the_order_the_accounts_were_made_in(world_a):
    """The submitter's account is newer than the approver who delegated: the delegate still
    decides on the approver's behalf (only the submitter's own vote may never be cast)."""
    three_levels(world_a)
    newcomer = UserFactory(email="admin2@alpha-mcn.test")  # made after every world user
    MembershipFactory(user=newcomer, agency=world_a.agency, role="admin")
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
    _submit(world_a, task, newcomer)
    _decide(world_a, task, "operator")
    decision = _decide(world_a, task, "finance")  # at the legal level, for legal
    assert decision.vote_of == world_a.user("legal")
    assert decision.decided_by == world_a.user("finance")
    assert not decision.escalated  # a delegate's vote is the approver's, not the owner's escalation


def test_a_task_no_longer_in_approval_cannot_be_withdrawn_even_if_its_round_was_left_open(world_a):
    """A task taken out of approval by another path (here its state changed directly, its round
    left in progress): withdrawing says the task is not in approval, and changes nothing."""
    three_levels(world_a)
    task = make_task(world_a)
    _submit(world_a, task, world_a.user("admin"))
    with scope(agency=world_a.agency):
        ShutdownTask.objects.filter(pk=task.pk).update(state=TaskState.APPROVED)
    task.refresh_from_db()
    with pytest.raises(Conflict, match="Only a task in approval can be withdrawn") as exc:
        _withdraw(world_a, task, world_a.user("admin"))
    assert exc.value.code == "wrong_state"
    task.refresh_from_db()
    assert task.state == TaskState.APPROVED
    with scope(agency=world_a.agency):
        assert ApprovalRound.objects.get(task=task).state == ApprovalRound.State.IN_PROGRESS


def test_a_task_whose_round_is_closed_cannot_be_withdrawn_even_if_it_still_shows_in_approval(world_a):
    three_levels(world_a)
    task = make_task(world_a)
    _submit(world_a, task, world_a.user("admin"))
    with scope(agency=world_a.agency):
        ApprovalRound.objects.filter(task=task).update(state=ApprovalRound.State.CANCELLED)
    with pytest.raises(Conflict, match="Only a task in approval can be withdrawn") as exc:
        _withdraw(world_a, task, world_a.user("admin"))
    assert exc.value.code == "wrong_state"
    task.refresh_from_db()
    assert task.state == TaskState.IN_APPROVAL


def test_withdrawing_a_task_that_never_went_to_approval_is_refused_with_its_state(world_a):
    task = make_task(world_a)
    with pytest.raises(Conflict, match="Only a task in approval can be withdrawn") as exc:
        _withdraw(world_a, task, world_a.user("admin"))
    assert "Ready for approval" in str(exc.value)


def test_a_withdrawn_round_cannot_be_appealed(world_a):
    """Withdrawn (the task is back in draft): there is no rejection to overturn, so no appeal
    reaches the owner and nothing could carry over on the next submission."""
    three_levels(world_a)
    task = make_task(world_a)
    _submit(world_a, task, world_a.user("admin"))
    _withdraw(world_a, task, world_a.user("admin"))
    task.refresh_from_db()
    assert task.state == TaskState.DRAFT
    with scope(agency=world_a.agency), pytest.raises(Conflict, match="Only the last rejection"):
        appeal_file(agency=world_a.agency, task=task, actor=world_a.user("admin"), reason="材料已补")
    with scope(agency=world_a.agency):
        assert not Appeal.objects.filter(task=task).exists()


def test_cancelling_an_approved_task_keeps_its_round_approved(world_a):
    """The approval history still says the round was approved (and when), not cancelled."""
    task = make_task(world_a)  # built-in policy: the owner alone
    _submit(world_a, task, world_a.user("admin"))
    _decide(world_a, task, "owner")
    with scope(agency=world_a.agency):
        before = ApprovalRound.objects.get(task=task)
        task_cancel(agency=world_a.agency, task=task, actor=world_a.user("owner"), comment="战略调整")
        after = ApprovalRound.objects.get(task=task)
    assert before.state == ApprovalRound.State.APPROVED
    assert (after.state, after.closed_at) == (ApprovalRound.State.APPROVED, before.closed_at)


# --- Third pass (mutation sample of 3 December) ----------------------------------------------------


def test_a_decision_from_a_page_showing_a_level_already_decided_is_refused_as_stale(world_a):
    from approvals.models import ApprovalStage

    three_levels(world_a)
    task = make_task(world_a)
    _submit(world_a, task, world_a.user("admin"))
    with scope(agency=world_a.agency):
        first, second = (ApprovalStage.objects.get(task=task, position=n) for n in (1, 2))
    _decide(world_a, task, "operator")  # level 1 approved: level 2 (legal) is open now
    with scope(agency=world_a.agency), pytest.raises(Conflict, match="moved on since you opened the page") as exc:
        approval_decide(agency=world_a.agency, task=task, actor=world_a.user("legal"), decision="approve",
                        comment="ok", stage_id=str(first.pk))  # the form posts the level it showed
    assert exc.value.code == "stale"
    with scope(agency=world_a.agency):
        assert not second.decisions.exists()
        # A page showing the open level (its id as the form posts it) is accepted.
        approval_decide(agency=world_a.agency, task=task, actor=world_a.user("legal"), decision="approve",
                        comment="ok", stage_id=str(second.pk))
        assert second.decisions.count() == 1


def test_a_decision_without_a_level_from_its_page_is_taken_at_the_open_level(world_a):
    from approvals.models import ApprovalStage

    three_levels(world_a)
    task = make_task(world_a)
    _submit(world_a, task, world_a.user("admin"))
    with scope(agency=world_a.agency):
        approval_decide(agency=world_a.agency, task=task, actor=world_a.user("operator"), decision="approve",
                        comment="ok", stage_id="")  # an API client that does not send the level
        assert ApprovalStage.objects.get(task=task, position=1).decisions.count() == 1


def test_a_level_nobody_can_decide_goes_to_the_other_owner_not_to_the_owner_who_submitted(world_a):
    from accounts.models import Membership
    from approvals.models import ApprovalStage
    from approvals.services.policy import approval_policy_save

    other_owner = UserFactory()
    MembershipFactory(user=other_owner, agency=world_a.agency, role="owner")
    with scope(agency=world_a.agency):
        approval_policy_save(agency=world_a.agency, name="法务一级", levels=[
            {"name": "法务", "role": "legal", "mode": "any", "sla_hours": 24}])
    Membership.objects.filter(agency=world_a.agency, role="legal").delete()  # nobody left at the level
    task = make_task(world_a)
    submitter = world_a.user("owner")
    _submit(world_a, task, submitter)
    with scope(agency=world_a.agency):
        stage = ApprovalStage.objects.get(task=task, position=1)
    assert stage.approver_ids == []
    assert stage.escalated_to_ids == [other_owner.pk]  # never back to the one who submitted
    with pytest.raises(Conflict, match="submitted this task"):
        _decide(world_a, task, user=submitter)
    _decide(world_a, task, user=other_owner)
    with scope(agency=world_a.agency):
        assert ShutdownTask.objects.get(pk=task.pk).state == TaskState.APPROVED


@pytest.mark.parametrize("closed", ["approved", "rejected", "withdrawn", "cancelled"])
def test_a_decision_on_a_round_closed_any_way_is_refused_even_if_a_level_was_left_open(world_a, closed):
    three_levels(world_a)
    task = make_task(world_a)
    _submit(world_a, task, world_a.user("admin"))
    with scope(agency=world_a.agency):
        ApprovalRound.objects.filter(task=task).update(state=closed)
    with pytest.raises(Conflict, match="not waiting for an approval decision"):
        _decide(world_a, task, "operator")
    with scope(agency=world_a.agency):
        assert not task.events.filter(kind="approval.approve").exists()


def _rejected_at_finance_then_upheld(world):
    from .test_decisions_guards import _appeal_upheld, _ready_again

    three_levels(world)
    task = make_task(world)
    _submit(world, task, world.user("admin"))
    _decide(world, task, "operator")
    _decide(world, task, "legal")
    _decide(world, task, "finance", decision="reject", comment="费用未结")
    _appeal_upheld(world, task)
    _ready_again(world, task)
    return task


def _stages(task, number):
    from approvals.models import ApprovalStage

    with scope(agency=task.agency):
        return list(ApprovalStage.objects.filter(task=task, round__number=number).order_by("position")
                    .values_list("position", "state", "carried_over"))


def test_an_upheld_appeal_on_the_same_content_marks_the_levels_it_carried_over(world_a):
    task = _rejected_at_finance_then_upheld(world_a)
    _submit(world_a, task, world_a.user("admin"))
    # The page shows "carried over by an upheld appeal" for each level the appeal approved.
    assert _stages(task, 2) == [(1, "approved", True), (2, "approved", True), (3, "approved", True)]


def test_an_upheld_appeal_carries_nothing_over_once_the_content_changed(world_a):
    task = _rejected_at_finance_then_upheld(world_a)
    with scope(agency=world_a.agency):  # what the approvers saw has changed
        ShutdownTask.objects.filter(pk=task.pk).update(title="改过名单的关停任务")
    task.refresh_from_db()
    _submit(world_a, task, world_a.user("admin"))
    assert _stages(task, 2) == [(1, "open", False), (2, "waiting", False), (3, "waiting", False)]
    with scope(agency=world_a.agency):
        assert ShutdownTask.objects.get(pk=task.pk).state == TaskState.IN_APPROVAL
        assert not Appeal.objects.get(task=task).used  # still there for the same content


def test_a_submitter_with_a_large_account_number_is_never_an_approver_of_their_own_task(world_a):
    """Account ids grow past 256 in any real database (Python caches only small ints, so an
    identity check instead of equality would let the submitter approve their own task)."""
    from approvals.models import ApprovalStage

    big = UserFactory(id=100_000 + world_a.agency.pk)
    MembershipFactory(user=big, agency=world_a.agency, role="operator")
    three_levels(world_a)
    task = make_task(world_a)
    with scope(agency=world_a.agency):
        task_submit(agency=world_a.agency, task=task, actor=type(big).objects.get(pk=big.pk))
        stage = ApprovalStage.objects.get(task=task, position=1)
    assert big.pk not in stage.approver_ids
    assert stage.approver_ids == [world_a.user("operator").pk]
    with pytest.raises(Conflict, match="submitted this task"):
        _decide(world_a, task, user=type(big).objects.get(pk=big.pk))


@pytest.mark.parametrize("older", [True, False])
def test_a_legal_member_may_not_appeal_whether_their_account_is_older_or_newer_than_the_submitters(world_a, older):
    """Only the submitter or an operator appeals; who joined first changes nothing."""
    from approvals.services.decisions import appeal_file

    legal = world_a.user("legal")  # joined before the submitter below
    submitter = UserFactory()
    MembershipFactory(user=submitter, agency=world_a.agency, role="admin")
    if not older:  # a legal member who joined after the submitter
        legal = UserFactory()
        MembershipFactory(user=legal, agency=world_a.agency, role="legal")
    assert (legal.pk < submitter.pk) is older
    three_levels(world_a)
    task = make_task(world_a)
    _submit(world_a, task, submitter)
    _decide(world_a, task, "operator", decision="reject", comment="名单有误")
    with scope(agency=world_a.agency), pytest.raises(Conflict, match="submitter or an operator"):
        appeal_file(agency=world_a.agency, task=task, actor=legal, reason="我觉得可以")
    with scope(agency=world_a.agency):
        assert not Appeal.objects.filter(task=task).exists()
        assert appeal_file(agency=world_a.agency, task=task, actor=submitter, reason="材料已补").appellant == submitter
