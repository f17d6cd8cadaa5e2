"""The approval actions of Chinese offices (加签, 转交, 退回上一级, 抄送, 催办) and attachments:
what approvers, submitters and copied members notice."""

from datetime import timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_scopes import scope

from agency.exceptions import Conflict, DomainValidationError
from approvals.models import ApprovalCopy, ApprovalDecision, ApprovalStage
from approvals.services.actions import (
    approval_add_approver,
    approval_copy,
    approval_hand_over,
    approval_send_back,
    approval_urge,
)
from approvals.services.decisions import approval_decide, task_submit
from notifications.models import OutboundMessage
from shutdown.events import chain_verify
from shutdown.models import TaskEvent
from shutdown.states import TaskState
from tests.builders import make_task
from tests.factories import MembershipFactory, UserFactory

from .helpers import api, three_levels

pytestmark = pytest.mark.django_db
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _submitted(world, **kw):
    three_levels(world)
    task = make_task(world, items=2, **kw)
    with scope(agency=world.agency):
        task_submit(agency=world.agency, task=task, actor=world.user("admin"))
    return task


def _open(task):
    with scope(agency=task.agency):
        return ApprovalStage.objects.filter(task=task, state="open").order_by("-round__number").first()


def _decide(world, task, role, decision="approve", comment="ok", **kw):
    with scope(agency=world.agency):
        return approval_decide(
            agency=world.agency, task=task, actor=world.user(role), decision=decision, comment=comment, **kw
        )


def _events(task, kind):
    with scope(agency=task.agency):
        return list(TaskEvent.objects.filter(task=task, kind=kind))


def _second_legal(world):
    user = UserFactory(email="legal2@alpha.test", full_name="二号法务")
    MembershipFactory(user=user, agency=world.agency, role="legal")
    return user


def test_add_an_approver_before_me_they_decide_first_then_my_level_comes_back(world_a):
    task = _submitted(world_a)
    extra = _second_legal(world_a)
    with scope(agency=world_a.agency):
        added = approval_add_approver(
            agency=world_a.agency,
            task=task,
            actor=world_a.user("operator"),
            user=extra.pk,
            where="before",
            comment="需要法务先看",
        )
    assert _open(task).pk == added.pk
    assert added.approver_ids == [extra.pk]
    # The operator cannot decide now: the added approver goes first.
    with pytest.raises(Conflict):
        _decide(world_a, task, "operator")
    with scope(agency=world_a.agency):
        approval_decide(agency=world_a.agency, task=task, actor=extra, decision="approve", comment="可以")
    back = _open(task)
    assert back.name == "运营" and back.approver_ids == [world_a.user("operator").pk]
    _decide(world_a, task, "operator")
    assert _open(task).name == "法务"
    [event] = _events(task, "approval.approver_added")
    assert event.actor == world_a.user("operator") and event.data["comment"] == "需要法务先看"
    assert event.data["where"] == "before" and event.data["users"] == [extra.pk]
    with scope(agency=world_a.agency):
        assert OutboundMessage.objects.filter(kind="approval_added", recipient_user=extra).exists()
        assert chain_verify(task=task)["ok"]


def test_add_an_approver_after_me_opens_their_level_once_mine_is_approved(world_a):
    task = _submitted(world_a)
    extra = _second_legal(world_a)
    with scope(agency=world_a.agency):
        approval_add_approver(
            agency=world_a.agency, task=task, actor=world_a.user("operator"), user=extra.pk, where="after"
        )
        names = list(
            ApprovalStage.objects.filter(task=task).order_by("position").values_list("name", flat=True)
        )
    assert names[0] == "运营" and "二号法务" in names[1] and names[2:] == ["法务", "财务"]
    _decide(world_a, task, "operator")
    assert _open(task).approver_ids == [extra.pk]


def test_add_approver_refuses_the_submitter_someone_who_decided_and_a_non_approver(world_a):
    task = _submitted(world_a)
    with scope(agency=world_a.agency):
        for user, words in (
            (world_a.user("admin"), "submitted"),
            (world_a.user("auditor"), "may not approve"),
        ):
            with pytest.raises(DomainValidationError) as exc:
                approval_add_approver(
                    agency=world_a.agency,
                    task=task,
                    actor=world_a.user("operator"),
                    user=user.pk,
                    where="before",
                )
            assert words in str(exc.value.message)
        # Not the operator's level: the legal member cannot add anybody yet.
        with pytest.raises(Conflict):
            approval_add_approver(
                agency=world_a.agency,
                task=task,
                actor=world_a.user("legal"),
                user=world_a.user("finance").pk,
                where="before",
            )


def test_hand_over_gives_my_seat_to_another_member(world_a):
    task = _submitted(world_a)
    with scope(agency=world_a.agency):
        approval_hand_over(
            agency=world_a.agency,
            task=task,
            actor=world_a.user("operator"),
            user=world_a.user("owner").pk,
            comment="我出差",
        )
    stage = _open(task)
    assert stage.approver_ids == [world_a.user("owner").pk]
    with pytest.raises(Conflict):
        _decide(world_a, task, "operator")
    _decide(world_a, task, "owner")
    assert _open(task).name == "法务"
    [event] = _events(task, "approval.handed_over")
    assert event.data["users"] == [world_a.user("owner").pk] and event.data["comment"] == "我出差"
    with scope(agency=world_a.agency):
        assert OutboundMessage.objects.filter(
            kind="approval_handed_over", recipient_user=world_a.user("owner"), channel="inapp"
        ).exists()


def test_send_back_to_the_previous_level_which_decides_again(world_a):
    task = _submitted(world_a)
    _decide(world_a, task, "operator", comment="第一次")
    with scope(agency=world_a.agency):
        with pytest.raises(DomainValidationError):  # why is required
            approval_send_back(agency=world_a.agency, task=task, actor=world_a.user("legal"), comment=" ")
        reopened = approval_send_back(
            agency=world_a.agency, task=task, actor=world_a.user("legal"), comment="运营请补充合同"
        )
    assert reopened.name == "运营" and _open(task).name == "运营"
    with scope(agency=world_a.agency):
        first = ApprovalDecision.objects.get(task=task, comment="第一次")
        assert first.superseded_at is not None  # on record, no longer counted
        assert OutboundMessage.objects.filter(
            kind="approval_sent_back", recipient_user=world_a.user("operator"), channel="inapp"
        ).exists()
    _decide(world_a, task, "operator", comment="已补充")
    assert _open(task).name == "法务"
    _decide(world_a, task, "legal")
    _decide(world_a, task, "finance")
    task.refresh_from_db()
    assert task.state == TaskState.APPROVED
    [event] = _events(task, "approval.sent_back")
    assert event.data["to_level"] == 1 and event.actor == world_a.user("legal")


def test_send_back_at_the_first_level_says_to_reject_instead(world_a):
    task = _submitted(world_a)
    with scope(agency=world_a.agency), pytest.raises(Conflict) as exc:
        approval_send_back(agency=world_a.agency, task=task, actor=world_a.user("operator"), comment="x")
    assert "first level" in str(exc.value.message)


def test_a_stale_page_is_refused(world_a):
    task = _submitted(world_a)
    first = _open(task)
    _decide(world_a, task, "operator")
    with pytest.raises(Conflict) as exc:
        _decide(world_a, task, "legal", stage_id=first.pk)
    assert "Reload" in str(exc.value.message)
    assert _open(task).name == "法务"  # nothing was decided


def test_copy_members_tells_them_in_app_once(world_a):
    task = _submitted(world_a)
    auditor = world_a.user("auditor")
    with scope(agency=world_a.agency):
        assert (
            approval_copy(
                agency=world_a.agency,
                task=task,
                actor=world_a.user("admin"),
                users=[auditor.pk],
                comment="供知悉",
            )
            == 1
        )
        with pytest.raises(Conflict):
            approval_copy(agency=world_a.agency, task=task, actor=world_a.user("admin"), users=[auditor.pk])
        assert ApprovalCopy.objects.filter(task=task, user=auditor).count() == 1
        notes = OutboundMessage.objects.filter(kind="approval_copied", recipient_user=auditor)
        assert [n.channel for n in notes] == ["inapp"]
        assert notes[0].params["link"].endswith(f"/approvals/tasks/{task.pk}/approval/")
    [event] = _events(task, "approval.copied")
    assert event.data["users"] == [auditor.pk] and event.data["comment"] == "供知悉"


def test_copy_refuses_people_of_another_agency(world_a, world_b):
    task = _submitted(world_a)
    with scope(agency=world_a.agency), pytest.raises(DomainValidationError):
        approval_copy(
            agency=world_a.agency, task=task, actor=world_a.user("admin"), users=[world_b.user("owner").pk]
        )


def test_urge_reminds_the_waiting_approvers_once_an_hour(world_a):
    task = _submitted(world_a)
    start = timezone.now()
    with scope(agency=world_a.agency):
        reminded = approval_urge(
            agency=world_a.agency, task=task, actor=world_a.user("admin"), comment="请尽快", now=start
        )
        assert reminded == [world_a.user("operator").pk]
        with pytest.raises(Conflict) as exc:
            approval_urge(
                agency=world_a.agency,
                task=task,
                actor=world_a.user("admin"),
                now=start + timedelta(minutes=10),
            )
        assert "again after" in str(exc.value.message)
        approval_urge(
            agency=world_a.agency, task=task, actor=world_a.user("admin"), now=start + timedelta(hours=1)
        )
        assert OutboundMessage.objects.filter(kind="approval_urged", channel="inapp").count() == 2
    assert len(_events(task, "approval.urged")) == 2


def test_approve_with_an_attachment_keeps_the_file_with_the_decision(world_a):
    task = _submitted(world_a)
    upload = SimpleUploadedFile("合同.png", PNG, content_type="image/png")
    made = _decide(world_a, task, "operator", comment="见附件", attachments=[upload])
    assert len(made.document_ids) == 1
    [event] = _events(task, "approval.approve")
    assert event.data["attachments"] == ["合同.png"]
    bad = SimpleUploadedFile("x.png", b"not an image", content_type="image/png")
    with pytest.raises(DomainValidationError):
        _decide(world_a, task, "legal", decision="reject", comment="no", attachments=[bad])
    assert _open(task).name == "法务"  # the refused rejection changed nothing


def test_the_approval_page_shows_totals_consequences_and_the_actions(world_a):
    task = _submitted(world_a)
    client = world_a.client("operator")
    page = client.get(f"/a/{world_a.agency.slug}/approvals/tasks/{task.pk}/approval/")
    assert page.status_code == 200
    text = page.content.decode()
    for words in (
        "Followers in total",
        "Unsettled earnings",
        "Pending ad revenue",
        "Open blockers",
        "Earliest deadline",
        "What the approval sets in motion",
        "R9.3",
        "decision-bar",
        "Add an approver",
        "Hand the decision over",
        'name="attachments"',
    ):
        assert words in text, words
    assert "Send back" not in text  # nothing before the first level


def test_page_actions_post_and_report_in_words(world_a):
    task = _submitted(world_a)
    base = f"/a/{world_a.agency.slug}/approvals/tasks/{task.pk}/"
    client = world_a.client("operator")
    upload = SimpleUploadedFile("批示.png", PNG, content_type="image/png")
    response = client.post(
        base + "approve/",
        {"comment": "同意", "attachments": [upload], "stage": _open(task).pk, "next": base + "approval/"},
        follow=True,
    )
    assert "Your approval was recorded" in response.content.decode()
    assert "批示.png" in world_a.client("legal").get(base + "approval/").content.decode()
    # The same form sent again (double click, stale page): refused with a reason, nothing changes.
    again = client.post(base + "approve/", {"comment": "同意", "stage": 1}, follow=True)
    assert "Reload the page" in again.content.decode() or "already" in again.content.decode()
    legal = world_a.client("legal")
    response = legal.post(base + "send_back/", {"comment": "请补充"}, follow=True)
    assert "sent back to the previous level" in response.content.decode()
    assert _open(task).name == "运营"
    response = world_a.client("admin").post(base + "urge/", {}, follow=True)
    assert "reminded" in response.content.decode()
    response = world_a.client("admin").post(base + "urge/", {}, follow=True)
    assert "remind them again after" in response.content.decode()


def test_api_actions_answer_409_when_not_allowed_now(world_a):
    task = _submitted(world_a)
    path = api(world_a, f"shutdown-tasks/{task.pk}/approval/")
    response = world_a.client("legal").post(path + "send-back/", {"comment": "x"}, format="json")
    assert response.status_code == 409
    response = world_a.client("operator").post(
        path + "hand-over/", {"user": world_a.user("owner").pk}, format="json"
    )
    assert response.status_code == 200
    assert (
        world_a.client("operator")
        .post(path + "hand-over/", {"user": world_a.user("owner").pk}, format="json")
        .status_code
        == 409
    )
    response = world_a.client("admin").post(
        path + "copy/", {"users": [world_a.user("auditor").pk]}, format="json"
    )
    assert response.status_code == 200 and response.json()["copied"] == 1
    assert world_a.client("admin").post(path + "urge/", {}, format="json").status_code == 200
    assert world_a.client("admin").post(path + "urge/", {}, format="json").status_code == 409
    response = world_a.client("owner").post(
        path + "add-approver/", {"user": world_a.user("finance").pk, "where": "after"}, format="json"
    )
    assert response.status_code == 200
    # An auditor may not act at all.
    assert world_a.client("auditor").post(path + "urge/", {}, format="json").status_code == 403


def test_urge_after_an_hour_with_time_travel(world_a):
    task = _submitted(world_a)
    with scope(agency=world_a.agency):
        approval_urge(agency=world_a.agency, task=task, actor=world_a.user("admin"))
    with time_machine.travel(timezone.now() + timedelta(minutes=61)), scope(agency=world_a.agency):
        assert approval_urge(agency=world_a.agency, task=task, actor=world_a.user("admin"))


def test_the_approval_page_and_audit_speak_chinese_without_codes(world_a):
    task = _submitted(world_a)
    with scope(agency=world_a.agency):
        approval_hand_over(
            agency=world_a.agency,
            task=task,
            actor=world_a.user("operator"),
            user=world_a.user("owner").pk,
            comment="出差",
        )
        approval_urge(agency=world_a.agency, task=task, actor=world_a.user("admin"))
        approval_copy(
            agency=world_a.agency, task=task, actor=world_a.user("admin"), users=[world_a.user("auditor").pk]
        )
    page = (
        world_a.client("owner")
        .get(f"/a/{world_a.agency.slug}/approvals/tasks/{task.pk}/approval/", HTTP_ACCEPT_LANGUAGE="zh-hans")
        .content.decode()
    )
    for words in ("加签", "转交", "抄送", "催办", "粉丝总数", "未结算收益", "最早期限", "批准后将触发的后果"):
        assert words in page, words
    for code in ("add_approver", "hand_over", "approval_waiting", "in_progress"):
        assert f">{code}<" not in page
    audit = (
        world_a.client("owner")
        .get(f"/a/{world_a.agency.slug}/approvals/tasks/{task.pk}/audit/", HTTP_ACCEPT_LANGUAGE="zh-hans")
        .content.decode()
    )
    for words in ("转交审批", "催办", "抄送"):
        assert words in audit, words
    assert ">approval.handed_over<" not in audit  # the stored kind only as a tooltip


def test_api_approve_with_attachments_in_multipart_and_a_stale_level_is_409(world_a):
    task = _submitted(world_a)
    first = _open(task)
    path = api(world_a, f"shutdown-tasks/{task.pk}/")
    upload = SimpleUploadedFile("批示.png", PNG, content_type="image/png")
    response = world_a.client("operator").post(path + "approve/", {"comment": "同意", "stage": first.pk,
                                                                   "attachments": [upload]}, format="multipart")
    assert response.status_code == 200, response.content
    with scope(agency=world_a.agency):
        decision = ApprovalDecision.objects.get(task=task)
    assert len(decision.document_ids) == 1
    response = world_a.client("legal").post(path + "approve/", {"comment": "ok", "stage": first.pk}, format="json")
    assert response.status_code == 409
    assert "Reload" in response.json()["error"]["message"]
