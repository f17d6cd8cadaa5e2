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

LINK = re.compile(r"/sign/([^/]+)/")


def approved_task(world, items=2):
    """Default built-in policy: the agency owner alone approves."""
    task = make_task(world, items=items)
    with scope(agency=world.agency):
        task_submit(agency=world.agency, task=task, actor=world.user("operator"))
        approval_decide(agency=world.agency, task=task, actor=world.user("owner"), decision="approve")
    task.refresh_from_db()
    assert task.state == TaskState.APPROVED
    return task


def links(world, task):
    """Raw signing paths per request, newest link version, from the outbox (what the owner receives)."""
    out = {}
    with scope(agency=world.agency):
        for m in OutboundMessage.objects.filter(kind="signing_link", channel="sms", task=task).order_by("pk"):
            req_id = int(m.idempotency_key.split(":")[1])
            out[req_id] = "/sign/" + LINK.search(m.params["link"]).group(1) + "/"
    return out


def sent_code(world, req_id):
    with scope(agency=world.agency):
        m = OutboundMessage.objects.filter(kind="signing_code", idempotency_key__startswith=f"signing_code:{req_id}:"
                                           ).order_by("-pk").first()
    return m.params["code"]


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
    response = Client().get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert req.item.sub_account.display_name in html
    assert "全面关停" in html or "Full shutdown" in html
    drafts_until = (timezone.localtime(timezone.now(), world.agency.tz) + timedelta(days=30)).strftime("%Y-%m-%d")
    assert drafts_until in html
    assert "R2.1" in html
    english = Client().get(path + "?lang=en").content.decode()
    assert "Consequences and dates" in english
    assert "Full shutdown" in english


@pytest.mark.django_db
def test_owner_signs_with_the_code_evidence_is_kept_and_the_link_cannot_be_replayed(signing):
    world, task, paths = signing
    req_id, path = next(iter(paths.items()))
    owner = Client(HTTP_USER_AGENT="Mozilla/5.0 (iPhone)")
    page = owner.get(path).content.decode()
    shown = re.search(r'name="content_sha256" value="([0-9a-f]{64})"', page)
    response = owner.post(path, {"step": "code", "channel": "sms"})
    assert response.status_code == 200
    assert "138****8000" in response.content.decode()
    shown = re.search(r'name="content_sha256" value="([0-9a-f]{64})"', response.content.decode()).group(1)
    code = sent_code(world, req_id)
    response = owner.post(path, {"step": "confirm", "code": code, "content_sha256": shown})
    assert response.status_code == 200
    with scope(agency=world.agency):
        req = SignatureRequest.objects.get(pk=req_id)
        event = task.events.get(kind="signature.signed")
    assert req.state == "signed"
    assert req.token_hash is None
    assert req.evidence["identity_check"] == "sms_code"
    assert req.evidence["content_sha256"] == shown
    assert req.evidence["ip"] == "127.0.0.1"
    assert "iPhone" in req.evidence["user_agent"]
    assert event.data["content_sha256"] == shown
    assert event.ip_address == "127.0.0.1"
    # replay: the same link and code again
    assert owner.get(path).status_code in (404, 410)
    again = owner.post(path, {"step": "confirm", "code": code, "content_sha256": shown})
    assert again.status_code in (404, 410)


@pytest.mark.django_db
def test_wrong_codes_are_limited_and_reveal_nothing(signing, settings):
    settings.SIGNING_CODE_MAX_ATTEMPTS = 3
    world, task, paths = signing
    req_id, path = next(iter(paths.items()))
    owner = Client()
    owner.post(path, {"step": "code", "channel": "email"})
    code = sent_code(world, req_id)
    wrong = "000000" if code != "000000" else "111111"
    first = owner.post(path, {"step": "confirm", "code": wrong})
    assert first.status_code == 400
    assert "2" in first.content.decode()
    assert code not in first.content.decode()
    owner.post(path, {"step": "confirm", "code": wrong})
    owner.post(path, {"step": "confirm", "code": wrong})
    locked = owner.post(path, {"step": "confirm", "code": code})  # even the right code is refused now
    assert locked.status_code == 410
    with scope(agency=world.agency):
        assert SignatureRequest.objects.get(pk=req_id).state == "pending"
        assert task.events.filter(kind="signature.code_wrong").count() == 3


@pytest.mark.django_db
def test_links_expire_after_the_ttl(signing, settings):
    world, task, paths = signing
    path = next(iter(paths.values()))
    with time_machine.travel(timezone.now() + timedelta(hours=settings.SIGNING_LINK_TTL_HOURS, minutes=1)):
        response = Client().get(path)
    assert response.status_code == 410


@pytest.mark.django_db
def test_resend_voids_the_old_link_and_revoke_stops_it(signing):
    world, task, paths = signing
    req_id, old_path = next(iter(paths.items()))
    with scope(agency=world.agency):
        signature_resend(agency=world.agency, signature=SignatureRequest.objects.get(pk=req_id),
                         actor=world.user("operator"))
    new_path = links(world, task)[req_id]
    assert new_path != old_path
    assert Client().get(old_path).status_code == 404
    assert Client().get(new_path).status_code == 200
    with scope(agency=world.agency):
        signature_revoke(agency=world.agency, signature=SignatureRequest.objects.get(pk=req_id),
                         actor=world.user("operator"))
    assert Client().get(new_path).status_code == 404  # the token is gone with the revocation


@pytest.mark.django_db
def test_a_declined_item_is_excluded_and_the_submitter_is_told(signing):
    world, task, paths = signing
    req_id, path = next(iter(paths.items()))
    response = Client().post(path, {"step": "decline", "reason": ""})
    assert response.status_code == 400
    Client().post(path, {"step": "decline", "reason": "还有未结算的广告分成"})
    with scope(agency=world.agency):
        req = SignatureRequest.objects.select_related("item").get(pk=req_id)
        assert req.state == "declined"
        assert req.item.state == ItemState.EXCLUDED
        note = OutboundMessage.objects.get(kind="signature_declined", channel="inapp")
    assert note.recipient_user == world.user("operator")
    assert note.params["reason"] == "还有未结算的广告分成"


@pytest.mark.django_db
def test_execution_gate_waits_for_every_non_excluded_item(signing):
    world, task, paths = signing
    (first_id, first), (second_id, second) = list(paths.items())
    with scope(agency=world.agency):
        assert any("2" in r for r in execution_blockers(agency=world.agency, task=task))
    owner = Client()
    owner.post(first, {"step": "code", "channel": "sms"})
    owner.post(first, {"step": "confirm", "code": sent_code(world, first_id)})
    with scope(agency=world.agency):
        assert execution_blockers(agency=world.agency, task=task)
    Client().post(second, {"step": "decline", "reason": "不同意"})
    with scope(agency=world.agency):
        assert execution_blockers(agency=world.agency, task=task) == []


@pytest.mark.django_db
def test_unknown_tokens_are_404(world_a):
    assert Client().get("/sign/not-a-real-token/").status_code == 404


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
