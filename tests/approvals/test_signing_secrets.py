"""Owner signatures only the owner can give: no role ever reads a link's token or a code, a
link alone cannot sign or decline, the signing pages are throttled, evidence records the real
client address, codes ignore the quiet hours, an administrator can forward a fresh link as a
QR code (audited)."""

import re
from datetime import datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from django_scopes import scope

from accounts.roles import Role
from approvals.models import SignatureRequest
from approvals.services.decisions import approval_decide, task_submit
from notifications.models import OutboundMessage
from notifications.secrets import unseal
from notifications.sms.backends import locmem
from shutdown.states import TaskState
from tests.builders import make_task
from tests.urlwalk import agency_routes, fill, route_params

from .helpers import api
from .signing_helpers import Phone, links, open_link, sent_code, transported

TOKEN = re.compile(r"/sign/([A-Za-z0-9_\-]{20,})/|/s/([a-z0-9]{20})\b")


@pytest.fixture
def no_quiet_hours(settings):
    settings.SMS_QUIET_HOURS_START = settings.SMS_QUIET_HOURS_END = 0


def approved_task(world, items=2, title="批量关停 A"):
    task = make_task(world, items=items, title=title)
    with scope(agency=world.agency):
        task_submit(agency=world.agency, task=task, actor=world.user("operator"))
        approval_decide(agency=world.agency, task=task, actor=world.user("owner"), decision="approve")
    task.refresh_from_db()
    assert task.state == TaskState.APPROVED
    return task


def _token(match) -> str:
    return match.group(1) or match.group(2)


def _pending_secrets(world) -> set[str]:
    """The raw values sealed in messages not sent yet (the test reads them as delivery would)."""
    out = set()
    with scope(agency=world.agency):
        for sealed in OutboundMessage.objects.exclude(sealed="").values_list("sealed", flat=True):
            for value in unseal(sealed).values():
                out.add(_token(TOKEN.search(value)) if "/sign/" in value else value)
    return out


def _sent_secrets() -> set[str]:
    out = set()
    for key, text in transported():
        if key.startswith("signing_link:"):
            out.update(a or b for a, b in TOKEN.findall(text))
        elif key.startswith("signing_code:"):
            out.update(re.findall(r"\b\d{6}\b", text))
    return out


def _contains(body: str, secret: str) -> bool:
    if secret.isdigit():
        return re.search(rf"(?<!\d){secret}(?!\d)", body) is not None
    return secret in body


@pytest.mark.django_db
def test_no_role_ever_reads_a_token_or_a_code_in_any_page_api_or_export(world_a, no_quiet_hours):
    task = approved_task(world_a)
    paths = links(world_a, task)  # delivered: links sent (SMS and email)
    (first_id, first), (second_id, second) = list(paths.items())
    phone = Phone()
    page, _r = open_link(phone, first)
    phone.post(page, {"step": "code", "channel": "sms"})
    sent_code(world_a, first_id)  # that code is delivered
    secrets_ = _sent_secrets() | {p.split("/")[2] for p in paths.values()}
    other = Phone()
    other_page, _r = open_link(other, second)
    other.post(other_page, {"step": "code", "channel": "email"})  # this one waits in the outbox, sealed
    waiting = _pending_secrets(world_a)
    assert len(waiting) == 1, "a code should be waiting, sealed"
    secrets_ |= waiting
    assert len(secrets_) >= 4

    with scope(agency=world_a.agency):
        values = {
            "pk": [task.pk, SignatureRequest.objects.filter(task=task).first().pk,
                   OutboundMessage.objects.exclude(sealed="").get().pk],  # the message still holding one
            "item_id": [SignatureRequest.objects.filter(task=task).first().item_id],
            "tier_id": [task.tiers.first().pk],
        }
    routes = [(r, p) for r, p in agency_routes() if set(route_params(r)) <= {"agency_slug", *values}]
    # The owner holds every permission: it walks every route with every id. Every other role
    # walks every list and export, and every route about messages, signatures and the audit.
    about_secrets = ("outbox", "messages", "signature", "audit", "notifications", "inbox", "tasks/<int:pk>/$",
                     "tasks/(?P<pk>[^/.]+)/$")
    checked, leaks = 0, []
    for role in Role.values:
        client = world_a.client(role)
        for route, _pattern in routes:
            params = [n for n in route_params(route) if n != "agency_slug"]
            if role != Role.OWNER and params and not any(re.search(w, route) for w in about_secrets):
                continue
            combos = [{}] if not params else [{params[0]: v} for v in values[params[0]]]
            if len(params) == 2:
                combos = [{params[0]: task.pk, params[1]: v} for v in values[params[1]]]
            for combo in combos:
                path = fill(route, agency_slug=world_a.agency.slug, **combo)
                response = client.get(path)
                if response.streaming:
                    body = b"".join(response.streaming_content).decode("utf-8", "replace")
                else:
                    body = response.content.decode("utf-8", "replace")
                checked += 1
                leaks += [(role, path, s) for s in secrets_ if _contains(body, s)]
    assert checked > 400, checked
    assert leaks == []


@pytest.mark.django_db
def test_the_outbox_says_what_a_secret_message_is_never_its_secret(world_a, no_quiet_hours):
    task = approved_task(world_a, items=1)
    links(world_a, task)
    for role in Role.values:
        rows = world_a.client(role).get(api(world_a, "outbox/") + "?kind=signing_link").json()["results"]
        assert rows, role
        sms = next(r for r in rows if r["channel"] == "sms")
        assert sms["summary"] == "Signing link, sent to +86138****8000"
        assert sms["recipient"] == "+86138****8000" and "link" not in sms["params"] and sms["body"] == ""
    page = world_a.client("auditor").get(f"/a/{world_a.agency.slug}/notifications/outbox/").content.decode()
    assert "Signing link, sent to +86138****8000" in page and "/sign/" not in page


@pytest.mark.django_db
def test_the_outbox_says_it_in_chinese(world_a, no_quiet_hours, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    task = approved_task(world_a, items=1)
    links(world_a, task)
    client = world_a.client("owner")
    client.cookies["django_language"] = "zh-hans"
    page = client.get(f"/a/{world_a.agency.slug}/notifications/outbox/", headers={"accept-language": "zh-hans"})
    assert "签署链接，已发送至 +86138****8000" in page.content.decode()


@pytest.mark.django_db
def test_a_link_alone_can_neither_sign_nor_decline(world_a, no_quiet_hours):
    task = approved_task(world_a, items=1)
    req_id, path = next(iter(links(world_a, task).items()))
    phone = Phone()
    page, _r = open_link(phone, path)
    assert phone.post(page, {"step": "decline", "reason": "不同意"}).status_code == 400
    assert phone.post(page, {"step": "confirm", "code": ""}).status_code == 400
    assert phone.post(path, {"step": "decline", "reason": "不同意"}).status_code == 405  # the link only opens
    with scope(agency=world_a.agency):
        assert SignatureRequest.objects.get(pk=req_id).state == "pending"


@pytest.mark.django_db
def test_a_forged_post_without_the_signing_session_changes_nothing(world_a, no_quiet_hours):
    task = approved_task(world_a, items=1)
    req_id, path = next(iter(links(world_a, task).items()))
    phone = Phone()
    page, _r = open_link(phone, path)
    phone.post(page, {"step": "code", "channel": "sms"})
    code = sent_code(world_a, req_id)
    # another site's form: no session cookie (SameSite) and no form token
    assert Client().post(page, {"step": "confirm", "code": code}).status_code == 403
    assert phone.post(page, {"step": "confirm", "code": code, "form_token": "forged"}).status_code == 403
    with scope(agency=world_a.agency):
        assert SignatureRequest.objects.get(pk=req_id).state == "pending"


@pytest.mark.django_db
def test_signing_pages_are_throttled_per_address_in_the_owners_language(world_a, no_quiet_hours, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {"signing": "3/min", "signing_code": "10/hour"}}
    task = approved_task(world_a, items=1)
    path = next(iter(links(world_a, task).values()))
    for _ in range(3):
        assert Client().get(path + "?lang=zh-hans").status_code == 302
    response = Client().get(path + "?lang=zh-hans")
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert "请求过于频繁" in response.content.decode()
    english = Client().get(path + "?lang=en")
    assert english.status_code == 429 and "Too many requests came from your network" in english.content.decode()
    # another address is not affected
    assert Client(REMOTE_ADDR="198.51.100.20").get(path).status_code == 302


@pytest.mark.django_db
def test_code_requests_are_throttled_per_address(world_a, no_quiet_hours, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {"signing": "100/min", "signing_code": "2/hour"}}
    settings.SIGNING_CODE_RESEND_SECONDS = 0
    task = approved_task(world_a, items=1)
    path = next(iter(links(world_a, task).values()))
    phone = Phone()
    page, _r = open_link(phone, path)
    assert phone.post(page, {"step": "code", "channel": "sms"}).status_code == 200
    assert phone.post(page, {"step": "code", "channel": "email"}).status_code == 200
    third = phone.post(page, {"step": "code", "channel": "sms", "lang": "zh-hans"})
    assert third.status_code == 429 and "请求过于频繁" in third.content.decode()


@pytest.mark.django_db
def test_a_spoofed_left_most_forwarded_address_is_not_the_evidence(world_a, no_quiet_hours, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    task = approved_task(world_a, items=1)
    req_id, path = next(iter(links(world_a, task).items()))
    # behind one proxy (10.0.0.2); the client wrote its own X-Forwarded-For, the proxy appended the real one
    phone = Phone(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9")
    page, _r = open_link(phone, path)
    phone.post(page, {"step": "code", "channel": "sms"})
    assert phone.post(page, {"step": "confirm", "code": sent_code(world_a, req_id)}).status_code == 200
    with scope(agency=world_a.agency):
        req = SignatureRequest.objects.get(pk=req_id)
        event = task.events.get(kind="signature.signed")
    assert req.evidence["ip"] == "203.0.113.9" and event.ip_address == "203.0.113.9"


@pytest.mark.django_db
def test_without_a_trusted_proxy_forwarded_headers_are_ignored(world_a, no_quiet_hours, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    task = approved_task(world_a, items=1)
    req_id, path = next(iter(links(world_a, task).items()))
    phone = Phone(REMOTE_ADDR="203.0.113.50", HTTP_X_FORWARDED_FOR="1.2.3.4")
    page, _r = open_link(phone, path)
    phone.post(page, {"step": "code", "channel": "sms"})
    phone.post(page, {"step": "confirm", "code": sent_code(world_a, req_id)})
    with scope(agency=world_a.agency):
        assert SignatureRequest.objects.get(pk=req_id).evidence["ip"] == "203.0.113.50"


@pytest.mark.django_db
def test_a_code_asked_for_at_half_past_ten_at_night_is_delivered_at_once(world_a, settings):
    settings.SMS_QUIET_HOURS_START, settings.SMS_QUIET_HOURS_END = 22, 8
    night = datetime(2026, 3, 10, 22, 30, tzinfo=world_a.agency.tz)
    with time_machine.travel(night, tick=False):
        task = approved_task(world_a, items=1)
        req_id, path = next(iter(links(world_a, task, channel="email").items()))  # the SMS link waits for 8:00
        assert not [m for m in locmem.outbox if m.idempotency_key.startswith("signing_link:")]
        phone = Phone()
        page, _r = open_link(phone, path)
        phone.post(page, {"step": "code", "channel": "sms"})
        transported()
        codes = [m for m in locmem.outbox if m.idempotency_key.startswith(f"signing_code:{req_id}:")]
        assert len(codes) == 1 and re.search(r"\d{6}", codes[0].text)
        assert phone.post(page, {"step": "confirm", "code": sent_code(world_a, req_id)}).status_code == 200


@pytest.mark.django_db
def test_a_code_expires_a_fixed_time_after_it_was_sent(world_a, no_quiet_hours, settings):
    from notifications.services.delivery import messages_deliver_due

    settings.SIGNING_CODE_TTL_MINUTES = 10
    task = approved_task(world_a, items=1)
    req_id, path = next(iter(links(world_a, task).items()))
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        phone = Phone()
        page, _r = open_link(phone, path)
        phone.post(page, {"step": "code", "channel": "sms"})  # the provider is slow: not sent yet
    with time_machine.travel(start + timedelta(minutes=6), tick=False):
        messages_deliver_due()  # it leaves six minutes later
    with time_machine.travel(start + timedelta(minutes=14), tick=False):
        ok = phone.post(page, {"step": "confirm", "code": sent_code(world_a, req_id)})
    assert ok.status_code == 200  # 14 minutes after asking, 8 after it arrived


@pytest.mark.django_db
def test_a_manager_forwards_a_fresh_link_as_a_qr_code_and_it_is_audited(world_a, world_b, no_quiet_hours):
    task = approved_task(world_a, items=1)
    req_id, old_path = next(iter(links(world_a, task).items()))
    url = f"/a/{world_a.agency.slug}/approvals/signatures/{req_id}/qr/"
    assert world_a.client("operator").post(url).status_code == 403
    assert world_a.client("auditor").post(url).status_code == 403
    assert world_b.client("owner").post(url).status_code == 404
    assert world_a.client("admin").get(url).status_code in (403, 405)  # an explicit action, never a GET
    response = world_a.client("admin").post(url)
    assert response.status_code == 200 and "<svg" in response.content.decode()
    assert response["Cache-Control"] == "no-store" and response["Referrer-Policy"] == "no-referrer"
    assert "/sign/" not in response.content.decode()  # shown as a QR code only
    assert Client().get(old_path).status_code == 404  # the earlier link is void
    with scope(agency=world_a.agency):
        event = task.events.get(kind="signature.link_shown")
        assert event.actor_id == world_a.user("admin").pk
        assert not OutboundMessage.objects.exclude(sealed="").exists()  # nothing stored for it
    list_page = world_a.client("admin").get(f"/a/{world_a.agency.slug}/approvals/tasks/{task.pk}/signatures/")
    assert "Show as QR code" in list_page.content.decode()
    assert "Show as QR code" not in world_a.client("operator").get(
        f"/a/{world_a.agency.slug}/approvals/tasks/{task.pk}/signatures/").content.decode()


@pytest.mark.django_db
def test_the_signing_content_and_the_preview_read_the_same_facts(world_a, no_quiet_hours):
    from rulebook.consequences import consequences_preview

    task = approved_task(world_a, items=1)
    with scope(agency=world_a.agency):
        req = SignatureRequest.objects.select_related("item__sub_account").get(task=task)
        effective = req.item.expected_effective_at or req.created_at
        preview = consequences_preview(agency=world_a.agency, sub_account=req.item.sub_account,
                                       strategy=task.strategy, effective_at=effective)
    signed = req.content["en"]["consequences"]
    assert [c["rule"] for c in signed] == [c.rule for c in preview]
    assert [c["due"] for c in signed] == [timezone.localtime(c.due_at, world_a.agency.tz).strftime("%Y-%m-%d")
                                         for c in preview]
