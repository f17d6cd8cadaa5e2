"""Email as mail clients expect it, read back from a real SMTP server started by the test
(aiosmtpd), fed by Django's SMTP backend from real outbox rows: multipart (text + HTML), in
the message's language with the agency's name, absolute links made from SITE_URL when sent,
a globally unique Message-ID that a retry keeps."""

import email
import re
import socket
from datetime import timedelta
from email import policy

import pytest
import time_machine
from aiosmtpd.controller import Controller
from django_scopes import scope, scopes_disabled

from approvals.services.decisions import approval_decide, task_submit
from notifications.models import OutboundMessage
from notifications.services.delivery import messages_deliver_due
from tests.builders import make_task
from tests.deadlines.helpers import at

pytestmark = pytest.mark.django_db
START = at(2030, 3, 4, 10, 0)
SITE = "https://mcn.example.cn"


class Collect:
    def __init__(self):
        self.received = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.received.append((envelope.rcpt_tos, envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(settings):
    handler = Collect()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
        }
    }
    yield handler
    controller.stop()


def parsed(handler) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(content, policy=policy.default) for _to, content in handler.received]


def parts(message) -> dict[str, str]:
    return {part.get_content_type(): part.get_content() for part in message.walk() if not part.is_multipart()}


@pytest.fixture
def queued(world_a, settings):
    """Approval and signing messages queued while the site had another address."""
    settings.LANGUAGE_CODE = "zh-hans"
    settings.SITE_URL = "http://old-address.invalid:8000"
    for user in world_a.users.values():
        user.language = "zh-hans"
        user.save(update_fields=["language"])
    with time_machine.travel(START, tick=False):
        task = make_task(world_a, items=1, title="批量关停 A")
        with scope(agency=world_a.agency):
            task_submit(agency=world_a.agency, task=task, actor=world_a.user("operator"))
            approval_decide(agency=world_a.agency, task=task, actor=world_a.user("owner"), decision="approve")
    settings.SITE_URL = SITE
    with scopes_disabled():
        return list(OutboundMessage.objects.filter(channel="email").order_by("pk"))


def test_multipart_in_chinese_with_the_agency_name_and_links_made_when_sent(smtp, queued, world_a):
    kinds = {m.kind for m in queued}
    assert {"approval_request", "signing_link"} <= kinds
    messages_deliver_due(now=START + timedelta(minutes=1))
    received = parsed(smtp)
    assert len(received) == len(queued)
    for message in received:
        assert message.get_content_type() == "multipart/alternative"
        body = parts(message)
        assert set(body) == {"text/plain", "text/html"}
        for part in message.walk():
            if not part.is_multipart():
                assert part.get_content_charset() == "utf-8"
        assert message["From"].addresses[0].display_name == "机构 alpha-mcn"  # RFC 2047, decoded back
        assert re.search(r"[\u4e00-\u9fff]", str(message["Subject"]))
        assert "机构 alpha-mcn" in body["text/plain"] and "机构 alpha-mcn" in body["text/html"]
        assert "old-address.invalid" not in body["text/plain"] + body["text/html"]
        links = re.findall(r"https?://[^\s<>\"]+", body["text/plain"])
        assert links and all(link.startswith(SITE + "/") for link in links)
        for link in links:
            assert f'href="{link}"' in body["text/html"]
    signing = next(m for m in received if "/sign/" in parts(m)["text/plain"])
    assert re.search(SITE + r"/sign/[a-z0-9]{20}/", parts(signing)["text/plain"])
    assert "/notifications/settings/" not in parts(signing)["text/plain"]  # an owner has no login
    approver = next(m for m in received if m["To"] == world_a.user("owner").email)
    settings_link = f"{SITE}/a/{world_a.agency.slug}/notifications/settings/"
    assert settings_link in parts(approver)["text/plain"]
    assert f'href="{settings_link}"' in parts(approver)["text/html"]


def test_message_ids_are_unique_at_the_site_domain_and_kept_by_a_retry(smtp, queued, settings):
    ids = [m.email_message_id for m in queued]
    assert all(
        re.fullmatch(r"<[^@<>\s]+@mcn-shutdown\.local>|<[^@<>\s]+@old-address\.invalid>", i) for i in ids
    )
    assert len(set(ids)) == len(ids)
    # The server refuses the first attempt: the row is retried later with the same Message-ID.
    port = settings.MAILERS["default"]["OPTIONS"]["port"]
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": free_port(), "timeout": 2},
        }
    }
    totals = messages_deliver_due(now=START + timedelta(minutes=1))
    assert totals["retry"] == len(queued) and smtp.received == []
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
        }
    }
    messages_deliver_due(now=START + timedelta(days=1))
    received = {m["Message-ID"] for m in parsed(smtp)}
    assert received == set(ids)
    with scopes_disabled():
        rows = OutboundMessage.objects.filter(channel="email")
        assert {(r.status, r.attempts) for r in rows} == {("sent", 2)}
        assert {r.email_message_id for r in rows} == set(ids)


def test_message_ids_differ_across_deployments_with_the_same_database_ids(settings):
    from notifications.services.delivery import new_message_id

    settings.SITE_URL = "https://one.example.cn"
    first = new_message_id()
    settings.SITE_URL = "https://two.example.cn"
    second = new_message_id()
    assert first.endswith("@one.example.cn>") and second.endswith("@two.example.cn>")
    assert first.split("@")[0] != second.split("@")[0]
