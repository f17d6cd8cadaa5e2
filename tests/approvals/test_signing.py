"""Owner signatures on a phone: link, code, evidence, expiry, replay, revocation, decline."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from django_scopes import scope

from approvals.models import SignatureRequest
from approvals.services.decisions import approval_decide, task_submit
from approvals.services.signatures import signature_resend, signature_revoke
from notifications.models import OutboundMessage
from shutdown.gates import execution_blockers
from shutdown.states import ItemState, TaskState
from tests.builders import make_task

from .signing_helpers import Phone, links, open_link, sent_code, transported


@pytest.fixture(autouse=True)
def _no_quiet_hours(settings):
    settings.SMS_QUIET_HOURS_START = settings.SMS_QUIET_HOURS_END = 0


def approved_task(world, items=2):
    """Default built-in policy: the agency owner alone approves."""
    task = make_task(world, items=items)
    with scope(agency=world.agency):
        task_submit(agency=world.agency, task=task, actor=world.user("operator"))
        approval_decide(agency=world.agency, task=task, actor=world.user("owner"), decision="approve")
    task.refresh_from_db()
    assert task.state == TaskState.APPROVED
    return task


@pytest.fixture
def signing(world_a):
    task = approved_task(world_a)
    paths = links(world_a, task)
    return world_a, task, paths


@pytest.mark.django_db
def test_the_page_shows_account_strategy_and_dated_consequences(signing):
    world, task, paths = signing
    req_id, path = next(iter(paths.items()))
    with scope(agency=world.agency):
        req = SignatureRequest.objects.select_related("item__sub_account").get(pk=req_id)
    page, response = open_link(Phone(), path)
    assert response.status_code == 200
    html = response.content.decode()
    assert req.item.sub_account.display_name in html
    assert "全面关停" in html or "Full shutdown" in html
    drafts_until = (timezone.localtime(timezone.now(), world.agency.tz) + timedelta(days=30)).strftime("%Y-%m-%d")
    assert drafts_until in html and "R2.1" in html
    english = open_link(Phone(), path + "?lang=en")[1].content.decode()
    assert "Consequences and dates" in english and "Full shutdown" in english


@pytest.mark.django_db
def test_the_token_leaves_the_address_bar_and_no_referrer_is_sent(signing):
    world, task, paths = signing
    path = next(iter(paths.values()))
    token = path.split("/")[2]
    owner = Phone()
    first = owner.get(path)
    assert first.status_code == 302 and token not in first["Location"]
    assert first["Referrer-Policy"] == "no-referrer"
    page = owner.get(first["Location"])
    assert page.status_code == 200 and page["Referrer-Policy"] == "no-referrer"
    assert token not in page.content.decode()
    # The token-free page is bound to this browser's session: another phone gets nothing from it.
    assert Phone().get(first["Location"]).status_code == 403


@pytest.mark.django_db
def test_the_signing_session_is_short_lived(signing, settings):
    world, task, paths = signing
    owner = Phone()
    page, _first = open_link(owner, next(iter(paths.values())))
    with time_machine.travel(timezone.now() + timedelta(minutes=settings.SIGNING_SESSION_MINUTES + 1)):
        response = owner.get(page)
    assert response.status_code == 403 and "Open the link in your message again" in response.content.decode()


@pytest.mark.django_db
def test_owner_signs_with_the_code_evidence_is_kept_and_the_link_cannot_be_replayed(signing):
    world, task, paths = signing
    req_id, path = next(iter(paths.items()))
    owner = Phone(HTTP_USER_AGENT="Mozilla/5.0 (iPhone)")
    page, _first = open_link(owner, path)
    response = owner.post(page, {"step": "code", "channel": "sms"})
    assert response.status_code == 200 and "138****8000" in response.content.decode()
    shown = re.search(r'name="content_sha256" value="([0-9a-f]{64})"', response.content.decode()).group(1)
    code = sent_code(world, req_id)
    response = owner.post(page, {"step": "confirm", "code": code, "content_sha256": shown})
    assert response.status_code == 200 and "your signature is recorded" in response.content.decode()
    with scope(agency=world.agency):
        req = SignatureRequest.objects.get(pk=req_id)
        event = task.events.get(kind="signature.signed")
    assert req.state == "signed"
    assert req.evidence["identity_check"] == "sms_code" and req.evidence["content_sha256"] == shown
    assert req.evidence["ip"] == "127.0.0.1" and "iPhone" in req.evidence["user_agent"]
    assert event.data["content_sha256"] == shown and event.ip_address == "127.0.0.1"
    # replay: the same link and code again. The link says it was used, and when.
    again = owner.post(page, {"step": "confirm", "code": code, "content_sha256": shown})
    assert again.status_code == 410
    used = open_link(Phone(), path)[1]
    body = used.content.decode()
    signed_on = timezone.localtime(req.completed_at, world.agency.tz).strftime("%Y-%m-%d")
    assert used.status_code == 410 and "Signed" in body and signed_on in body and "not valid" not in body


@pytest.mark.django_db
def test_a_used_link_says_declined_with_the_date_in_chinese(signing):
    world, task, paths = signing
    req_id, path = next(iter(paths.items()))
    owner = Phone()
    page, _first = open_link(owner, path)
    owner.post(page, {"step": "code", "channel": "sms"})
    owner.post(page, {"step": "decline", "reason": "不同意", "code": sent_code(world, req_id)})
    body = open_link(Phone(), path + "?lang=zh-hans")[1].content.decode()
    today = timezone.localtime(timezone.now(), world.agency.tz).strftime("%Y-%m-%d")
    assert "已拒绝" in body and today in body


@pytest.mark.django_db
def test_wrong_codes_are_limited_and_reveal_nothing(signing, settings):
    settings.SIGNING_CODE_MAX_ATTEMPTS = 3
    world, task, paths = signing
    req_id, path = next(iter(paths.items()))
    owner = Phone()
    page, _first = open_link(owner, path)
    owner.post(page, {"step": "code", "channel": "email"})
    code = sent_code(world, req_id)
    wrong = "000000" if code != "000000" else "111111"
    first = owner.post(page, {"step": "confirm", "code": wrong})
    assert first.status_code == 400 and "2 attempts left" in first.content.decode()
    assert code not in first.content.decode()
    owner.post(page, {"step": "confirm", "code": wrong})
    owner.post(page, {"step": "confirm", "code": wrong})
    locked = owner.post(page, {"step": "confirm", "code": code})  # even the right code is refused now
    assert locked.status_code == 410
    with scope(agency=world.agency):
        assert SignatureRequest.objects.get(pk=req_id).state == "pending"
        assert task.events.filter(kind="signature.code_wrong").count() == 3


@pytest.mark.django_db
def test_links_expire_after_the_ttl(signing, settings):
    world, task, paths = signing
    path = next(iter(paths.values()))
    with time_machine.travel(timezone.now() + timedelta(hours=settings.SIGNING_LINK_TTL_HOURS, minutes=1)):
        response = open_link(Phone(), path)[1]
    assert response.status_code == 410 and "expired" in response.content.decode()


@pytest.mark.django_db
def test_resend_voids_the_old_link_and_revoke_stops_it(signing):
    world, task, paths = signing
    req_id, old_path = next(iter(paths.items()))
    phone = Phone()
    old_page, _first = open_link(phone, old_path)
    with scope(agency=world.agency):
        signature_resend(agency=world.agency, signature=SignatureRequest.objects.get(pk=req_id),
                         actor=world.user("operator"))
    new_path = links(world, task)[req_id]
    assert new_path != old_path
    assert Phone().get(old_path).status_code == 404
    assert phone.get(old_page).status_code == 404  # a session opened with the old link ends with it
    new_page, response = open_link(Phone(), new_path)
    assert response.status_code == 200
    with scope(agency=world.agency):
        signature_revoke(agency=world.agency, signature=SignatureRequest.objects.get(pk=req_id),
                         actor=world.user("operator"))
    assert Phone().get(new_path).status_code == 404  # the token is gone with the revocation


@pytest.mark.django_db
def test_declining_needs_the_code_and_a_reason(signing):
    world, task, paths = signing
    req_id, path = next(iter(paths.items()))
    owner = Phone()
    page, _first = open_link(owner, path)
    without_code = owner.post(page, {"step": "decline", "reason": "不同意"})
    assert without_code.status_code == 400 and "Enter the 6-digit code" in without_code.content.decode()
    owner.post(page, {"step": "code", "channel": "sms"})
    code = sent_code(world, req_id)
    assert owner.post(page, {"step": "decline", "reason": "", "code": code}).status_code == 400
    wrong = "000000" if code != "000000" else "111111"
    assert owner.post(page, {"step": "decline", "reason": "不同意", "code": wrong}).status_code == 400
    with scope(agency=world.agency):
        assert SignatureRequest.objects.get(pk=req_id).state == "pending"


@pytest.mark.django_db
def test_a_declined_item_is_excluded_and_the_submitter_is_told(signing):
    world, task, paths = signing
    req_id, path = next(iter(paths.items()))
    owner = Phone()
    page, _first = open_link(owner, path)
    owner.post(page, {"step": "code", "channel": "sms"})
    response = owner.post(page, {"step": "decline", "reason": "还有未结算的广告分成", "code": sent_code(world, req_id)})
    assert response.status_code == 200 and "You declined" in response.content.decode()
    with scope(agency=world.agency):
        req = SignatureRequest.objects.select_related("item").get(pk=req_id)
        assert req.state == "declined" and req.item.state == ItemState.EXCLUDED
        assert req.evidence["identity_check"] == "sms_code"
        note = OutboundMessage.objects.get(kind="signature_declined", channel="inapp")
    assert note.recipient_user == world.user("operator")
    assert note.params["reason"] == "还有未结算的广告分成"


def _sign(world, req_id, path):
    owner = Phone()
    page, _first = open_link(owner, path)
    owner.post(page, {"step": "code", "channel": "sms"})
    return owner.post(page, {"step": "confirm", "code": sent_code(world, req_id)})


def _decline(world, req_id, path, reason="不同意"):
    owner = Phone()
    page, _first = open_link(owner, path)
    owner.post(page, {"step": "code", "channel": "sms"})
    return owner.post(page, {"step": "decline", "reason": reason, "code": sent_code(world, req_id)})


@pytest.mark.django_db
def test_execution_gate_waits_for_every_non_excluded_item(signing):
    world, task, paths = signing
    (first_id, first), (second_id, second) = list(paths.items())
    with scope(agency=world.agency):
        assert any("2" in r for r in execution_blockers(agency=world.agency, task=task))
    assert _sign(world, first_id, first).status_code == 200
    with scope(agency=world.agency):
        assert execution_blockers(agency=world.agency, task=task)
    assert _decline(world, second_id, second).status_code == 200
    with scope(agency=world.agency):
        assert execution_blockers(agency=world.agency, task=task) == []


@pytest.mark.django_db
def test_when_the_last_owner_of_a_tier_signs_submitter_and_admins_hear_it_is_ready(signing):
    world, task, paths = signing
    (first_id, first), (second_id, second) = list(paths.items())
    _sign(world, first_id, first)
    with scope(agency=world.agency):
        assert not OutboundMessage.objects.filter(kind="tier_ready").exists()
    _sign(world, second_id, second)
    with scope(agency=world.agency):
        notes = list(OutboundMessage.objects.filter(kind="tier_ready").select_related("recipient_user"))
    told = {(m.recipient_user.email, m.channel) for m in notes}
    for role in ("operator", "owner", "admin"):
        assert (world.user(role).email, "inapp") in told and (world.user(role).email, "email") in told
    assert world.user("auditor").email not in {e for e, _c in told}
    ready = [text for key, text in transported() if key.startswith("tier_ready:")]
    assert len(ready) == 3  # one email each (the in-app notes are in their notifications)
    assert all(f"/tasks/{task.pk}/" in text and "第一批" in text for text in ready)
    assert any("ready to execute" in text or "可以执行" in text for text in ready)


@pytest.mark.django_db
def test_unknown_tokens_are_404(world_a):
    response = Phone().get("/sign/not-a-real-token/")
    assert response.status_code == 404 and response["Referrer-Policy"] == "no-referrer"


@pytest.mark.django_db
def test_large_tasks_get_their_links_from_a_worker_or_the_sweep(world_a, settings):
    from approvals.services.sla import approval_sla_sweep_all
    from approvals.tasks import signatures_request_task

    settings.SIGNATURES_INLINE_MAX_ITEMS = 2
    big = make_task(world_a, items=3)
    with scope(agency=world_a.agency):
        task_submit(agency=world_a.agency, task=big, actor=world_a.user("operator"))
        approval_decide(agency=world_a.agency, task=big, actor=world_a.user("owner"), decision="approve")
        assert SignatureRequest.objects.filter(task=big).count() == 0  # queued for a worker
        assert big.events.filter(kind="signatures.queued").exists()
    assert signatures_request_task.apply(kwargs={"agency_id": world_a.agency.pk, "task_id": big.pk}).get() == 3
    assert signatures_request_task.apply(kwargs={"agency_id": world_a.agency.pk, "task_id": big.pk}).get() == 0
    other = make_task(world_a, items=3, title="B")
    with scope(agency=world_a.agency):
        task_submit(agency=world_a.agency, task=other, actor=world_a.user("operator"))
        approval_decide(agency=world_a.agency, task=other, actor=world_a.user("owner"), decision="approve")
    approval_sla_sweep_all()  # the worker message was lost: the sweep creates them
    with scope(agency=world_a.agency):
        assert SignatureRequest.objects.filter(task=other).count() == 3
        assert OutboundMessage.objects.filter(kind="signing_link", task=other).count() == 6


@pytest.mark.django_db
def test_cancelling_an_approved_task_revokes_the_open_links(signing):
    """The shutdown lifecycle cancels; the approvals app reacts to its `task_cancelled` signal."""
    from shutdown.services.lifecycle import task_cancel

    world, task, paths = signing
    with scope(agency=world.agency):
        task_cancel(agency=world.agency, task=task, actor=world.user("owner"), comment="计划取消")
        assert set(SignatureRequest.objects.filter(task=task).values_list("state", flat=True)) == {"revoked"}
        assert set(task.items.values_list("state", flat=True)) == {ItemState.CANCELLED}
    assert Client().get(next(iter(paths.values()))).status_code in (403, 404, 410)
