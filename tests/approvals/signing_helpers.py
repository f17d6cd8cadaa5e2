"""Signing tests read links and codes where the owner gets them: from the SMS and email that
delivery hands to the (in-memory) transports. The database never holds them readable."""

import re

from django.core import mail
from django.test import Client
from django_scopes import scope

from approvals.models import SignatureRequest
from notifications.services.delivery import messages_deliver_due
from notifications.sms.backends import locmem

# The email carries /sign/<token>/; the SMS the short form /s/<token> (its template holds the
# address, the variable the 20-character token).
LINK = re.compile(r"(/sign/[A-Za-z0-9_\-]{20,}/|/s/[a-z0-9]{20}\b)")
CODE = re.compile(r"\b(\d{6})\b")


def transported() -> list[tuple[str, str]]:
    """(idempotency key, text) of everything sent so far, SMS and email."""
    messages_deliver_due()
    out = [(m.idempotency_key, m.text + " " + " ".join(m.params.values())) for m in locmem.outbox]
    out += [(e.extra_headers.get("X-Idempotency-Key", ""), e.subject + " " + e.body) for e in mail.outbox]
    return out


def links(world, task, channel: str = "sms") -> dict[int, str]:
    """Raw signing paths per request, newest link version, as the owner received them."""
    with scope(agency=world.agency):
        ids = list(SignatureRequest.objects.filter(task=task).order_by("pk").values_list("pk", flat=True))
    out = {}
    for key, text in transported():
        parts = key.split(":")
        if parts[0] == "signing_link" and int(parts[1]) in ids and parts[-1] == channel:
            out[int(parts[1])] = LINK.search(text).group(1)
    return out


def sent_code(world, req_id) -> str:
    """The newest code sent for a request (by SMS or email)."""
    code = None
    for key, text in transported():
        if key.startswith(f"signing_code:{req_id}:"):
            code = CODE.search(text).group(1)
    assert code is not None, f"no code was sent for request {req_id}"
    return code


def open_link(client, path: str):
    """Follow the link as a phone does: the token is exchanged for a session and a token-free page.
    Returns (page path, response of that page)."""
    first = client.get(path)
    assert first.status_code == 302, first.status_code
    page = first["Location"]
    return page, client.get(page)


class Phone(Client):
    """The owner's browser: posts on a signing page carry the page's form token, as its forms do."""

    def post(self, path, data=None, **extra):
        data = dict(data or {})
        if path.startswith("/sign/s/") and "form_token" not in data:
            handle = path.split("/")[3]
            data["form_token"] = self.session.get("signing", {}).get(handle, {}).get("form", "")
        return super().post(path, data, **extra)
