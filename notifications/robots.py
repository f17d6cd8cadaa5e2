"""Group robots: DingTalk, WeCom (企业微信) and Feishu custom-robot webhooks.

An agency admin adds a robot (its webhook address and, where the platform signs, its secret)
and chooses the events it receives (RobotEvent). The apps above call `robots_notify` inside
the transaction of the change; it stores one outbox message per subscribed robot (channel
`robot`, idempotency key per robot and cause), so robot messages follow the outbox's rules:
stored with the change, claimed and sent once, retried with back-off, visible in the outbox.

Credentials: the webhook address (it carries the robot's access token) and the signing secret
are sealed on the row (notifications.secrets), unsealed only here at delivery, shown masked
(`address_hint`), and never put into a log or a stored error.

Signatures (the platforms' documented "custom robot" security settings):
- DingTalk: timestamp (ms) + "\\n" + secret, HMAC-SHA256 keyed with the secret, base64, URL-
  encoded, sent as `timestamp` and `sign` query parameters;
- Feishu: timestamp (s) + "\\n" + secret is the HMAC-SHA256 KEY over an empty message, base64,
  sent as `timestamp` and `sign` in the JSON body;
- WeCom: no signature (the key in the address is the credential).
"""

import base64
import hashlib
import hmac
import logging
import time
from dataclasses import dataclass
from urllib.parse import quote_plus, urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from agency.exceptions import DomainValidationError
from notifications.models import Channel, OutboundMessage, RobotEvent, RobotPlatform, RobotWebhook
from notifications.secrets import seal, unseal

logger = logging.getLogger(__name__)

# Paths of the platforms' robot endpoints: the token is in them (or in their query).
ROBOT_PATHS = ("/robot/send", "/cgi-bin/webhook/send", "/open-apis/bot/")


class _DropRobotAddresses(logging.Filter):
    """urllib3 logs each request line at DEBUG ("POST /robot/send?access_token=… 200"): a robot's
    address is a credential, so those lines are dropped wherever logging is configured."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is not ours to judge
            return True
        return not any(path in text for path in ROBOT_PATHS)


logging.getLogger("urllib3.connectionpool").addFilter(_DropRobotAddresses())

# Where each platform's custom robots live (an address elsewhere is refused: the secret-bearing
# request must go to the platform, not to whatever host was typed in).
PLATFORM_HOSTS = {
    RobotPlatform.DINGTALK: ("oapi.dingtalk.com",),
    RobotPlatform.WECOM: ("qyapi.weixin.qq.com",),
    RobotPlatform.FEISHU: ("open.feishu.cn", "open.larksuite.com"),
}
SIGNED_PLATFORMS = {RobotPlatform.DINGTALK, RobotPlatform.FEISHU}


# --- admin: add, edit, remove ----------------------------------------------------------------


def address_hint(url: str) -> str:
    """The address as pages show it: host and the last four characters of its token."""
    parts = urlsplit(url)
    tail = (parts.query or parts.path).rstrip("/")[-4:]
    return f"{parts.scheme}://{parts.netloc}/…{tail}"


def _clean(*, platform: str, url: str, secret: str, events, keep: dict) -> tuple[dict, dict]:
    errors: dict[str, list] = {}
    if platform not in RobotPlatform.values:
        errors["platform"] = [_("Choose DingTalk, WeCom or Feishu.")]
    url = (url or "").strip() or keep.get("url", "")
    secret = (secret or "").strip() or keep.get("secret", "")
    if not url:
        errors["url"] = [_("Paste the robot's webhook address.")]
    elif platform in PLATFORM_HOSTS:
        parts = urlsplit(url)
        if parts.scheme != "https" or parts.hostname not in PLATFORM_HOSTS[platform]:
            errors["url"] = [
                _("A %(platform)s robot's address starts with https://%(host)s/.")
                % {"platform": RobotPlatform(platform).label, "host": PLATFORM_HOSTS[platform][0]}
            ]
    if platform == RobotPlatform.WECOM and (secret and not keep.get("secret")):
        errors["secret"] = [_("WeCom robots have no signing secret: leave it empty.")]
    if platform == RobotPlatform.DINGTALK and secret and not secret.startswith("SEC"):
        errors["secret"] = [_("A DingTalk signing secret starts with “SEC”.")]
    chosen = [e for e in (events or []) if e]
    unknown = [e for e in chosen if e not in RobotEvent.values]
    if unknown or not chosen:
        errors["events"] = (
            [_("Choose at least one event.")]
            if not chosen
            else [_("Unknown event: %(e)s.") % {"e": ", ".join(unknown)}]
        )
    return {"url": url, "secret": secret if platform in SIGNED_PLATFORMS else ""}, errors


def robot_webhook_save(
    *,
    agency,
    webhook: RobotWebhook | None = None,
    name: str,
    platform: str,
    url: str = "",
    secret: str = "",
    events,
    is_active: bool = True,
    actor=None,
) -> RobotWebhook:
    """Add or change a robot. On a change, an empty address or secret keeps the stored one."""
    name = (name or "").strip()
    keep = unseal(webhook.sealed) if webhook is not None else {}
    creds, errors = _clean(platform=platform, url=url, secret=secret, events=events, keep=keep)
    if not name:
        errors["name"] = [_("Give the robot a name (e.g. the group's name).")]
    elif (
        RobotWebhook.objects.filter(agency=agency, name=name)
        .exclude(pk=getattr(webhook, "pk", None))
        .exists()
    ):
        errors["name"] = [_("There is already a robot named “%(name)s”.") % {"name": name}]
    if errors:
        raise DomainValidationError(
            _("The robot could not be saved: %(fields)s.") % {"fields": ", ".join(errors)}, details=errors
        )
    with transaction.atomic():
        if webhook is None:
            webhook = RobotWebhook(agency=agency, created_by=actor)
        else:
            webhook = RobotWebhook.objects.select_for_update().get(pk=webhook.pk)
        webhook.name, webhook.platform, webhook.is_active = name, platform, is_active
        webhook.events = [e for e in RobotEvent.values if e in set(events)]
        webhook.sealed = seal(creds)
        webhook.address_hint = address_hint(creds["url"])
        webhook.has_secret = bool(creds["secret"])
        webhook.save()
    return webhook


def robot_webhook_delete(*, agency, webhook: RobotWebhook) -> None:
    """Remove a robot; its messages still waiting are cancelled (the ones sent stay on record)."""
    with transaction.atomic():
        locked = RobotWebhook.objects.select_for_update().filter(agency=agency, pk=webhook.pk).first()
        if locked is None:
            return
        OutboundMessage.objects.filter(
            agency=agency,
            channel=Channel.ROBOT,
            status=OutboundMessage.Status.PENDING,
            params__robot_id=locked.pk,
        ).update(status=OutboundMessage.Status.CANCELLED)
        locked.delete()


# --- telling the robots --------------------------------------------------------------------------


def robots_notify(*, agency, event: str, key: str, params: dict, task=None) -> int:
    """Store one message for each active robot of `agency` that chose `event`. `key` names the
    cause (e.g. "task_event:42"): the same cause never reaches a robot twice. `params` hold what
    the card shows (task, level, by, reason, tier, deadline, account, due_at…) and `link`, a
    path inside the back office (made absolute from SITE_URL when sent). Returns how many were new."""
    from notifications.services.enqueue import message_enqueue

    if event not in RobotEvent.values:
        raise ValueError(f"Unknown robot event {event!r}")
    created = 0
    message_kind = f"robot_{event}"  # an outbox message kind (MESSAGE_KIND_LABELS), not an audit event
    for webhook in RobotWebhook.objects.filter(agency=agency, is_active=True).order_by("pk"):
        if event not in (webhook.events or []):
            continue
        _message, was_created = message_enqueue(
            agency=agency,
            channel=Channel.ROBOT,
            kind=message_kind,
            template_code=message_kind,
            idempotency_key=f"robot:{webhook.pk}:{key}",
            params={**params, "robot_id": webhook.pk, "event": event},
            recipient_address=f"{RobotPlatform(webhook.platform).label} · {webhook.name}"[:254],
            language=settings.LANGUAGE_CODE,
            task=task,
        )
        created += was_created
    return created


def robot_test_send(*, agency, webhook: RobotWebhook, actor) -> OutboundMessage:
    """Queue a test card to one robot (whatever its events), to check its address and secret."""
    from django.utils import timezone

    from notifications.services.enqueue import message_enqueue

    message, _created = message_enqueue(
        agency=agency,
        channel=Channel.ROBOT,
        kind="robot_test",
        template_code="robot_test",
        idempotency_key=f"robot:{webhook.pk}:test:{timezone.now().timestamp():.3f}",
        params={
            "robot_id": webhook.pk,
            "event": "test",
            "agency": agency.name,
            "by": getattr(actor, "email", "") or "",
            "link": "/",
        },
        recipient_address=f"{RobotPlatform(webhook.platform).label} · {webhook.name}"[:254],
        language=settings.LANGUAGE_CODE,
    )
    return message


# --- rendering: each platform's markdown card ------------------------------------------------------

TITLES = {
    "approval_waiting": gettext_lazy("Approval waiting: %(task)s"),
    "approved": gettext_lazy("Approved: %(task)s"),
    "rejected": gettext_lazy("Rejected: %(task)s"),
    "signatures_complete": gettext_lazy("Every owner has signed: %(task)s"),
    "tier_executed": gettext_lazy("Tier executed: %(task)s"),
    "deadline_1d": gettext_lazy("Deadline tomorrow: %(deadline)s"),
    "alert_raised": gettext_lazy("Alert: %(alert)s"),
    "test": gettext_lazy("Test message from %(agency)s"),
}
LINES = {
    "level": gettext_lazy("Level"),
    "due_at": gettext_lazy("Due"),
    "by": gettext_lazy("By"),
    "reason": gettext_lazy("Reason"),
    "tier": gettext_lazy("Tier"),
    "account": gettext_lazy("Account"),
    "task": gettext_lazy("Task"),
    "accounts": gettext_lazy("Accounts"),
}


def card_text(params: dict) -> tuple[str, list[tuple[str, str]], str]:
    """(title, [(label, value)], absolute link) of a robot message, in the active language."""
    event = params.get("event", "")
    title_key = params.get("decision") if event == "approval_decided" else event
    values = {k: str(params.get(k, "") or "") for k in ("task", "deadline", "alert", "agency")}
    title = str(TITLES.get(title_key, event)) % values
    rows = [
        (str(label), str(params[key]))
        for key, label in LINES.items()
        if params.get(key) not in (None, "")
        and not (key == "task" and event not in ("deadline_1d", "alert_raised"))
    ]
    link = str(params.get("link") or "")
    if link.startswith("/"):
        link = settings.SITE_URL.rstrip("/") + link
    return title, rows, link


def _markdown(rows, *, bold) -> str:
    return "\n".join(f"{bold(label)}: {value}" for label, value in rows)


@dataclass
class RobotRequest:
    url: str
    body: dict


def robot_request(
    *, platform: str, url: str, secret: str, title: str, rows, link: str, now: float | None = None
) -> RobotRequest:
    """The HTTP request a robot message becomes (pure: tests check it byte for byte)."""
    now = time.time() if now is None else now
    open_words = _("Open in the back office")
    if platform == RobotPlatform.DINGTALK:
        text = f"#### {title}\n\n" + _markdown(rows, bold=lambda s: f"**{s}**").replace("\n", "\n\n")
        if link:
            text += f"\n\n[{open_words}]({link})"
        if secret:
            timestamp = str(int(now * 1000))
            digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
            sign = quote_plus(base64.b64encode(digest).decode())
            url = f"{url}{'&' if '?' in url else '?'}timestamp={timestamp}&sign={sign}"
        return RobotRequest(url, {"msgtype": "markdown", "markdown": {"title": title, "text": text}})
    if platform == RobotPlatform.WECOM:
        content = f"**{title}**\n" + _markdown(rows, bold=lambda s: f'<font color="comment">{s}</font>')
        if link:
            content += f"\n[{open_words}]({link})"
        return RobotRequest(url, {"msgtype": "markdown", "markdown": {"content": content}})
    if platform == RobotPlatform.FEISHU:
        elements: list[dict] = [{"tag": "markdown", "content": _markdown(rows, bold=lambda s: f"**{s}**")}]
        if link:
            elements.append(
                {
                    "tag": "action",
                    "actions": [
                        {
                            "tag": "button",
                            "type": "primary",
                            "url": link,
                            "text": {"tag": "plain_text", "content": open_words},
                        }
                    ],
                }
            )
        body: dict = {
            "msg_type": "interactive",
            "card": {
                "config": {"wide_screen_mode": True},
                "header": {"title": {"tag": "plain_text", "content": title}, "template": "blue"},
                "elements": elements,
            },
        }
        if secret:
            timestamp = str(int(now))
            key = f"{timestamp}\n{secret}".encode()
            body = {
                "timestamp": timestamp,
                "sign": base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode(),
                **body,
            }
        return RobotRequest(url, body)
    raise ValueError(f"Unknown robot platform {platform!r}")


# --- delivery (called by notifications.services.delivery for channel `robot`) -------------------


@dataclass
class RobotOutcome:
    ok: bool
    provider_id: str = ""
    error: str = ""
    permanent: bool = False


def _scrubbed(text: str, creds: dict) -> str:
    """Nothing of a webhook's address or secret ever reaches a stored error or a log line."""
    for value in creds.values():
        if value:
            text = text.replace(value, "[redacted]")
            token = urlsplit(value).query or urlsplit(value).path
            if token:
                text = text.replace(token, "[redacted]")
    return text


def robot_deliver(message: OutboundMessage, *, http=None) -> RobotOutcome:
    """Send one robot message. `http`: a requests-like session (tests pass a stub)."""
    import requests

    webhook = RobotWebhook.objects.filter(
        agency_id=message.agency_id, pk=(message.params or {}).get("robot_id")
    ).first()
    if webhook is None or not webhook.is_active:
        return RobotOutcome(False, error="The group robot was removed or switched off.", permanent=True)
    creds = unseal(webhook.sealed)
    if not creds.get("url"):
        return RobotOutcome(
            False,
            error="The group robot's address cannot be read (key rotated?): enter it again.",
            permanent=True,
        )
    with translation.override(message.language or settings.LANGUAGE_CODE):
        title, rows, link = card_text(message.params or {})
        request = robot_request(
            platform=webhook.platform,
            url=creds["url"],
            secret=creds.get("secret", ""),
            title=title,
            rows=rows,
            link=link,
        )
    http = http or requests
    try:
        response = http.post(
            request.url, json=request.body, timeout=getattr(settings, "ROBOT_TIMEOUT_SECONDS", 5)
        )
    except Exception as exc:  # noqa: BLE001 - network errors become retries; their text may hold the address
        return RobotOutcome(False, error=_scrubbed(f"robot: {type(exc).__name__}: {exc}", creds))
    if response.status_code >= 500 or response.status_code == 429:
        return RobotOutcome(False, error=f"robot: HTTP {response.status_code}")
    try:
        data = response.json()
    except ValueError:
        data = {}
    code = data.get(
        "errcode", data.get("code", data.get("StatusCode", 0 if response.status_code < 400 else -1))
    )
    if response.status_code >= 400 or code not in (0, "0"):
        text = _scrubbed(str(data.get("errmsg") or data.get("msg") or response.status_code), creds)
        # Too many messages a minute (DingTalk 130101, WeCom 45009, Feishu 9499/11232): try again later.
        transient = code in (130101, 45009, 9499, 11232) or response.status_code == 429
        return RobotOutcome(False, error=f"robot: {code} {text}"[:500], permanent=not transient)
    return RobotOutcome(True, provider_id=f"{webhook.platform}:{message.idempotency_key}")
