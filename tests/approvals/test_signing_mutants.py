"""Owner signatures that broke with every test green (issue 20: surviving mutants).

What the owner or an operator would notice: the wrong number of attempts left after a wrong
code, a fresh link sent for an item nobody is to sign any more, evidence keeping a whole
(attacker-sized) browser string.
"""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from django_scopes import scope

from agency.exceptions import Conflict, DomainValidationError
from agency.privacy import mask_address
from approvals.models import SignatureRequest
from approvals.services.decisions import approval_decide, task_submit
from approvals.services.signatures import (
    LinkInvalid,
    content_sha256,
    signature_code_send,
    signature_confirm,
    signature_decline,
    signature_link_for_qr,
    signature_resend,
    signature_revoke,
)
from shutdown.models import TaskItem
from shutdown.states import ItemState, TaskState
from tests.builders import make_task

from .signing_helpers import sent_code

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_quiet_hours(settings):
    settings.SMS_QUIET_HOURS_START = settings.SMS_QUIET_HOURS_END = 0


def _pending_request(world) -> SignatureRequest:
    """One approved item (built-in policy: the owner approves), its owner's request pending."""
    task = make_task(world, items=1)
    with scope(agency=world.agency):
        task_submit(agency=world.agency, task=task, actor=world.user("operator"))
        approval_decide(agency=world.agency, task=task, actor=world.user("owner"), decision="approve")
        task.refresh_from_db()
        assert task.state == TaskState.APPROVED
        return SignatureRequest.objects.select_related("agency", "task", "item").get(task=task)


def _code(world, req, channel="sms") -> str:
    with scope(agency=world.agency):
        signature_code_send(req=req, channel=channel)
    return sent_code(world, req.pk)


def _wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def test_each_wrong_code_says_how_many_attempts_are_left_down_to_none(world_a, settings):
    settings.SIGNING_CODE_MAX_ATTEMPTS = 3
    req = _pending_request(world_a)
    code = _code(world_a, req)
    said = []
    for _attempt in range(3):
        with scope(agency=world_a.agency), pytest.raises(DomainValidationError) as exc:
            signature_confirm(req=req, code=_wrong(code), shown_sha256="", language="zh-hans")
        assert exc.value.code == "wrong_code"
        said.append((str(exc.value), exc.value.details["attempts_left"]))
    assert said == [
        ("The code is not correct or has expired. 2 attempts left.", 2),
        ("The code is not correct or has expired. 1 attempt left.", 1),
        ("The code is not correct or has expired. 0 attempts left.", 0),
    ]
    # even the right code is refused now
    with scope(agency=world_a.agency), pytest.raises(LinkInvalid) as locked:
        signature_confirm(req=req, code=code, shown_sha256="", language="zh-hans")
    assert locked.value.code == "locked"
    req.refresh_from_db()
    assert req.state == SignatureRequest.State.PENDING


def test_an_empty_code_asks_for_the_code_and_counts_as_an_attempt(world_a, settings):
    settings.SIGNING_CODE_MAX_ATTEMPTS = 5
    req = _pending_request(world_a)
    with (
        scope(agency=world_a.agency),
        pytest.raises(DomainValidationError, match="Enter the 6-digit code") as exc,
    ):
        signature_decline(req=req, reason="不同意", code="  ", language="zh-hans")
    assert exc.value.code == "code_required"
    assert exc.value.details["attempts_left"] == 4


def _leave_approval(req):
    """The item left the signing (excluded in bulk, say) while its owner's link was still open."""
    with scope(agency=req.agency):
        TaskItem.objects.filter(pk=req.item_id).update(state=ItemState.EXCLUDED, updated_at=timezone.now())


def test_no_fresh_link_is_sent_for_an_item_that_is_no_longer_approved(world_a):
    req = _pending_request(world_a)
    version = req.token_version
    _leave_approval(req)
    with scope(agency=world_a.agency), pytest.raises(Conflict, match="no longer approved") as exc:
        signature_resend(agency=world_a.agency, signature=req, actor=world_a.user("operator"))
    assert exc.value.code == "wrong_state"
    with scope(agency=world_a.agency), pytest.raises(Conflict, match="no longer approved"):
        signature_link_for_qr(agency=world_a.agency, signature=req, actor=world_a.user("admin"))
    req.refresh_from_db()
    assert req.token_version == version  # the owner's link was not replaced


def test_a_fresh_link_is_sent_while_the_item_is_approved(world_a):
    req = _pending_request(world_a)
    version = req.token_version
    with scope(agency=world_a.agency):
        signature_resend(agency=world_a.agency, signature=req, actor=world_a.user("operator"))
    req.refresh_from_db()
    assert req.token_version == version + 1


LONG_AGENT = "Mozilla/5.0 (Linux; Android 14) " + "x" * 600


def test_the_signature_evidence_keeps_the_first_400_characters_of_the_browser(world_a):
    req = _pending_request(world_a)
    code = _code(world_a, req)
    with scope(agency=world_a.agency):
        signed = signature_confirm(
            req=req,
            code=code,
            shown_sha256="",
            language="zh-hans",
            ip_address="10.1.2.3",
            user_agent=LONG_AGENT,
        )
    assert signed.evidence["user_agent"] == LONG_AGENT[:400]
    assert signed.evidence["identity_check"] == "sms_code"
    assert signed.evidence["sent_to"] == mask_address(req.mobile)  # the phone the code went to


def test_the_decline_evidence_keeps_the_first_400_characters_of_the_browser(world_a):
    req = _pending_request(world_a)
    code = _code(world_a, req, channel="email")
    with scope(agency=world_a.agency):
        declined = signature_decline(
            req=req, reason="不同意", code=code, language="en", ip_address="10.1.2.3", user_agent=LONG_AGENT
        )
    assert declined.evidence["user_agent"] == LONG_AGENT[:400]
    assert declined.evidence["identity_check"] == "email_code"
    assert declined.evidence["sent_to"] == mask_address(req.email)  # the mailbox the code went to


def test_two_owners_signing_two_accounts_leave_two_different_fingerprints_of_what_they_saw(world_a):
    """The evidence's content_sha256 is the fingerprint of the page the owner saw (their account,
    their consequences): two accounts, two fingerprints, each the one of that request's content."""
    task = make_task(world_a, items=2)
    with scope(agency=world_a.agency):
        task_submit(agency=world_a.agency, task=task, actor=world_a.user("operator"))
        approval_decide(agency=world_a.agency, task=task, actor=world_a.user("owner"), decision="approve")
        reqs = list(
            SignatureRequest.objects.select_related("agency", "task", "item").filter(task=task).order_by("pk")
        )
    fingerprints = []
    for req in reqs:
        code = _code(world_a, req)
        with scope(agency=world_a.agency):
            signed = signature_confirm(req=req, code=code, shown_sha256="", language="zh-hans")
        assert signed.evidence["content_sha256"] == content_sha256(req.content, "zh-hans")
        fingerprints.append(signed.evidence["content_sha256"])
    assert fingerprints[0] != fingerprints[1]
    assert reqs[0].content["zh-hans"]["account"] != reqs[1].content["zh-hans"]["account"]


def test_codes_use_the_whole_six_digit_range(world_a, monkeypatch):
    """The largest code the random draw can give is 999999 (a narrower range would be easier to guess)."""
    monkeypatch.setattr("approvals.services.signatures.secrets.randbelow", lambda bound: bound - 1)
    req = _pending_request(world_a)
    assert _code(world_a, req) == "999999"
    with scope(agency=world_a.agency):
        signed = signature_confirm(req=req, code="999999", shown_sha256="", language="zh-hans")
    assert signed.state == SignatureRequest.State.SIGNED


def test_a_new_code_waits_a_minute_and_only_so_many_are_sent_per_link(world_a, settings):
    settings.SIGNING_CODE_RESEND_SECONDS = 60
    settings.SIGNING_CODE_MAX_SENDS = 3
    req = _pending_request(world_a)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        _code(world_a, req)
    with time_machine.travel(start + timedelta(seconds=59), tick=False):
        with scope(agency=world_a.agency), pytest.raises(Conflict, match="a moment ago") as exc:
            signature_code_send(req=req, channel="sms")
        assert exc.value.code == "too_soon"
    for minute in (1, 2):
        with time_machine.travel(start + timedelta(minutes=minute), tick=False), scope(agency=world_a.agency):
            signature_code_send(req=req, channel="sms")  # the 2nd and 3rd codes
    with time_machine.travel(start + timedelta(minutes=3), tick=False):
        with scope(agency=world_a.agency), pytest.raises(Conflict, match="Too many codes") as exc:
            signature_code_send(req=req, channel="email")
        assert exc.value.code == "too_many"
    req.refresh_from_db()
    assert req.code_sends == 3
    with scope(agency=world_a.agency):
        signature_resend(agency=world_a.agency, signature=req, actor=world_a.user("operator"))
    with time_machine.travel(start + timedelta(minutes=4), tick=False), scope(agency=world_a.agency):
        signature_code_send(req=req, channel="sms")  # a new link: codes may be sent again


def test_an_answered_request_cannot_be_revoked(world_a):
    """A declined (or signed) request keeps its answer: revoking it is refused."""
    req = _pending_request(world_a)
    code = _code(world_a, req)
    with scope(agency=world_a.agency):
        signature_decline(req=req, reason="不同意", code=code, language="zh-hans")
        with pytest.raises(Conflict, match="Only a pending request") as exc:
            signature_revoke(agency=world_a.agency, signature=req, actor=world_a.user("operator"))
    assert exc.value.code == "wrong_state"
    req.refresh_from_db()
    assert req.state == SignatureRequest.State.DECLINED


# --- Third pass (full sample of 3 December, afternoon) ----------------------------------------------


def _refetch(req):
    with scope(agency=req.agency):
        return SignatureRequest.objects.select_related("agency", "task", "item").get(pk=req.pk)


@pytest.mark.parametrize("state,words", [("declined", "You declined this on"), ("signed", "You signed this on")])
def test_an_answered_link_says_how_it_was_answered(world_a, state, words):
    from approvals.services.signatures import check_usable

    req = _pending_request(world_a)
    with scope(agency=world_a.agency):
        SignatureRequest.objects.filter(pk=req.pk).update(state=state, completed_at=timezone.now())
    with pytest.raises(LinkInvalid) as exc:
        check_usable(_refetch(req))
    assert exc.value.code == state
    assert words in exc.value.message


def test_a_link_past_a_lowered_code_limit_is_locked(world_a, settings):
    from approvals.services.signatures import check_usable

    req = _pending_request(world_a)
    with scope(agency=world_a.agency):
        SignatureRequest.objects.filter(pk=req.pk).update(code_attempts=7)
    settings.SIGNING_CODE_MAX_ATTEMPTS = 5  # the agency lowered it after 7 wrong codes
    with pytest.raises(LinkInvalid) as exc:
        check_usable(_refetch(req))
    assert exc.value.code == "locked"


def test_a_code_asked_for_by_email_goes_to_the_owners_email_and_no_other_channel_is_taken(world_a):
    from notifications.models import OutboundMessage

    req = _pending_request(world_a)
    assert req.email and req.mobile
    with scope(agency=world_a.agency):
        assert signature_code_send(req=req, channel="email") == mask_address(req.email)
        sent = OutboundMessage.objects.filter(kind="signing_code").get()
        assert (sent.channel, sent.recipient_address) == ("email", req.email)
        for channel in ("inapp", "wechat", ""):
            with pytest.raises(DomainValidationError, match="No contact of this kind"):
                signature_code_send(req=_refetch(req), channel=channel)


def test_a_code_expires_a_fixed_time_after_its_message_left(world_a, settings):
    from approvals.services.signatures import signature_codes_sent
    from notifications.models import OutboundMessage

    settings.SIGNING_CODE_TTL_MINUTES = 10
    req = _pending_request(world_a)
    with scope(agency=world_a.agency):
        signature_code_send(req=req, channel="sms")
        message = OutboundMessage.objects.filter(kind="signing_code").get()
        left = timezone.now() - timedelta(minutes=3)
        OutboundMessage.objects.filter(pk=message.pk).update(sent_at=left)
        message.refresh_from_db()
        other = OutboundMessage.objects.filter(kind="signing_link").first()
    # Another kind of message whose key happens to read like a code's: it sets no expiry.
    lookalike = OutboundMessage(agency_id=req.agency_id, kind="approval_added", sent_at=timezone.now(),
                                idempotency_key=message.idempotency_key.replace("signing_code", "approval_added"))
    assert signature_codes_sent(messages=[lookalike]) == 0
    lookalike.kind = "signing_link"  # a kind that sorts after "signing_code"
    assert signature_codes_sent(messages=[lookalike]) == 0
    assert _refetch(req).code_expires_at != lookalike.sent_at + timedelta(minutes=10)
    assert signature_codes_sent(messages=[m for m in (other, message) if m is not None]) == 1
    assert _refetch(req).code_expires_at == left + timedelta(minutes=10)


def test_only_a_full_shutdown_shows_the_preparation_steps_and_the_shell_transition(world_a):
    from approvals.services.signatures import signing_content

    for strategy, shell, prepared, shell_shown in [
        ("shutdown", True, True, True), ("shutdown", False, True, False),
        ("dormant", True, False, False), ("restrict", False, False, False), ("matrix", True, False, False),
    ]:
        task = make_task(world_a, items=1, strategy=strategy)
        with scope(agency=world_a.agency):
            item = TaskItem.objects.select_related("sub_account").get(task=task)
            item.shell_transition_until = timezone.now() + timedelta(days=30) if shell else None
            content = signing_content(agency=world_a.agency, task=task, item=item)
        for lang in content:
            assert ("preparation" in content[lang]) is prepared, (strategy, lang)
            assert ("shell_until" in content[lang]) is shell_shown, (strategy, shell, lang)


def test_no_new_code_once_past_a_lowered_sends_limit(world_a, settings):
    req = _pending_request(world_a)
    with scope(agency=world_a.agency):
        SignatureRequest.objects.filter(pk=req.pk).update(code_sends=7)
    settings.SIGNING_CODE_MAX_SENDS = 5
    with scope(agency=world_a.agency), pytest.raises(Conflict):
        signature_code_send(req=_refetch(req), channel="sms")
    assert _refetch(req).code_sends == 7


def test_the_decline_evidence_names_the_phone_an_sms_code_went_to(world_a):
    req = _pending_request(world_a)
    code = _code(world_a, _refetch(req), channel="sms")
    with scope(agency=world_a.agency):
        declined = signature_decline(req=_refetch(req), reason="不同意", code=code, language="en")
    assert declined.evidence["identity_check"] == "sms_code"
    assert declined.evidence["sent_to"] == mask_address(req.mobile)


@pytest.mark.parametrize("shown", ["0" * 64, "f" * 64])
def test_a_page_that_showed_other_content_cannot_be_signed(world_a, shown):
    req = _pending_request(world_a)
    code = _code(world_a, _refetch(req))
    with scope(agency=world_a.agency), pytest.raises(Conflict) as exc:
        signature_confirm(req=_refetch(req), code=code, shown_sha256=shown, language="zh-hans")
    assert exc.value.code == "content_mismatch"
    assert _refetch(req).state == "pending"
