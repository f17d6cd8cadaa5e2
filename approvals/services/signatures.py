"""Owner signatures (R7.1): one request per approved item, a one-time link, a 6-digit code.

Tokens and codes are random and stored only as hashes; the raw value exists only in the
message that carries it, sealed for delivery (notifications.secrets) and dropped once sent.
No API, page, export or log shows it, to any role. A link alone can only ask for a code:
signing and declining both need the code sent to the owner's phone or email.
A link expires, is single use, can be revoked, and re-sending it (or showing it as a QR code
to forward) replaces the token (the old link stops working). Wrong codes are counted; past
the limit the link is locked until an operator re-sends.
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from agency.celery_base import task_publish
from agency.exceptions import Conflict, DomainValidationError
from agency.privacy import mask_address
from notifications.secrets import short_token
from notifications.services.enqueue import message_enqueue, messages_enqueue_bulk
from rulebook.consequences import consequence_facts, consequences_for_facts
from shutdown.events import event_record
from shutdown.models import EventKind, PreparationPhase, ShutdownTask, TaskItem
from shutdown.services.preparation import preparation_states
from shutdown.services.transitions import item_transition
from shutdown.states import INACTIVE_ITEM_STATES, ItemState, TaskState

from ..conf import (
    signatures_inline_max_items,
    signing_code_max_attempts,
    signing_code_max_sends,
    signing_code_resend_seconds,
    signing_code_ttl_minutes,
    signing_link_ttl_hours,
)
from ..models import ApprovalRound, SignatureRequest
from .common import canonical_json, member_ids_with_role, notify_users, sha256_hex, site_url, task_url

SIGNING_LANGUAGES = ("zh-hans", "en")
State = SignatureRequest.State
def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _code_hash(req, code: str) -> str:
    message = f"{req.pk}:{req.token_version}:{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def signing_content(*, agency, task, item, cache: dict | None = None) -> dict:
    """What the owner sees, in each language, frozen when the request is made. The consequences
    come from the same facts as the task's preview (rulebook.consequences.consequence_facts)."""
    account = item.sub_account
    effective_at = item.expected_effective_at or timezone.now()
    cache = {} if cache is None else cache
    key = consequence_facts(agency=agency, sub_account=account, strategy=task.strategy, effective_at=effective_at)
    # R9.1: which preparation phases are done (or waived) when the owner is asked; read once per task.
    if ("preparation", task.pk) not in cache:
        cache[("preparation", task.pk)] = preparation_states(task=task)
    marks = cache[("preparation", task.pk)].get(item.pk, {})
    content = {}
    for lang in SIGNING_LANGUAGES:
        with translation.override(lang):
            if (lang, key) not in cache:
                cache[(lang, key)] = [
                    {"rule": c.rule, "label": str(c.label), "note": str(c.note), "provisional": c.provisional,
                     "due": timezone.localtime(c.due_at, agency.tz).strftime("%Y-%m-%d")}
                    for c in consequences_for_facts(agency=agency, facts=key)
                ]
            content[lang] = {
                "agency": agency.name,
                "task": task.title,
                "account": {"platform": str(account.get_platform_display()), "name": account.display_name,
                            "platform_account_id": account.platform_account_id,
                            "kind": str(account.get_kind_display()), "followers": account.followers,
                            "owner": account.owner_name},
                "strategy": {"code": task.strategy, "label": str(task.get_strategy_display())},
                "effective_at": timezone.localtime(effective_at, agency.tz).strftime("%Y-%m-%d"),
                "effective_is_estimate": item.expected_effective_at is None,
                "consequences": cache[(lang, key)],
            }
            if task.strategy == "shutdown":
                content[lang]["preparation"] = [
                    {"phase": phase.value, "label": str(phase.label), "state": marks.get(phase.value, "todo")}
                    for phase in PreparationPhase]
                if item.shell_transition_until:  # R9.2: the shutdown waits for the end of the shell transition
                    content[lang]["shell_until"] = timezone.localtime(item.shell_transition_until,
                                                                      agency.tz).strftime("%Y-%m-%d")
    return content


def content_sha256(content: dict, lang: str) -> str:
    return sha256_hex(canonical_json(content.get(lang) or {}))


def _new_token(req, now) -> str:
    """A fresh token on the row (not saved): the previous one stops working. Returns the raw token."""
    token = short_token()  # 100 bits, short enough to be an SMS variable (notifications.secrets)
    req.token_hash = token_hash(token)
    req.token_version += 1
    req.link_expires_at = now + timedelta(hours=signing_link_ttl_hours())
    req.link_sent_at = now
    req.code_hash, req.code_expires_at, req.code_attempts, req.code_sends = "", None, 0, 0
    req.state = State.PENDING
    return token


def signing_path(token: str) -> str:
    return reverse("approvals-sign", kwargs={"token": token})


def signing_link(token: str) -> str:
    return site_url(signing_path(token))


def _link_messages(*, agency, req, token, now) -> list[dict]:
    """The outbox rows of one link (SMS and/or email). The raw link is sealed for delivery only."""
    params = {"owner_name": req.owner_name, "agency": agency.name,
              "account": req.content.get("zh-hans", {}).get("account", {}).get("name", ""),
              "expires_at": timezone.localtime(req.link_expires_at, agency.tz).strftime("%Y-%m-%d %H:%M")}
    # The link is made absolute from SITE_URL when sent; an SMS carries the token only (its
    # template holds the fixed address <site>/s/, notifications.sms.templates).
    return [{"channel": channel, "kind": "signing_link", "template_code": "signing_link",
             "idempotency_key": f"signing_link:{req.pk}:{req.token_version}:{channel}", "params": params,
             "secrets": {"link": signing_path(token), "token": token},
             "recipient_address": address, "task": req.task, "send_after": now, "ref": f"signature:{req.pk}"}
            for channel, address in (("sms", req.mobile), ("email", req.email)) if address]


def signatures_request_all(*, agency, task) -> int:
    """One request per approved item that has none yet, links sent (in bulk). Idempotent."""
    with transaction.atomic():
        task = ShutdownTask.objects.select_for_update().get(pk=task.pk)  # one writer per task
        if task.state != TaskState.APPROVED:
            return 0
        return _request_all(agency=agency, task=task)


def signatures_start(*, agency, task) -> None:
    """At the last approval: small tasks get their links at once; large ones right after
    commit in a worker (the beat sweep picks up any task whose worker message was lost)."""
    count = TaskItem.objects.filter(task=task, state=ItemState.APPROVED).count()
    if count <= signatures_inline_max_items():
        _request_all(agency=agency, task=task)
        return
    task_publish("approvals.signatures_request", kwargs={"agency_id": agency.pk, "task_id": task.pk})
    event_record(agency=agency, task=task, kind=EventKind.SIGNATURES_QUEUED, actor_label="system", data={"count": count})


def signatures_backfill(*, agency) -> int:
    """Sweep: approved tasks with approved items that have no signature request yet."""
    task_ids = set(TaskItem.objects.filter(state=ItemState.APPROVED, task__state=TaskState.APPROVED)
                   .exclude(pk__in=SignatureRequest.objects.values("item_id")).values_list("task_id", flat=True))
    return sum(signatures_request_all(agency=agency, task=ShutdownTask(pk=pk)) for pk in sorted(task_ids))


def _request_all(*, agency, task) -> int:
    now = timezone.now()
    items = (TaskItem.objects.filter(task=task, state=ItemState.APPROVED)
             .exclude(pk__in=SignatureRequest.objects.filter(task=task).values("item_id"))
             .select_related("sub_account").order_by("pk"))
    cache: dict = {}
    rows, tokens = [], []
    for item in items:
        account = item.sub_account
        content = signing_content(agency=agency, task=task, item=item, cache=cache)
        req = SignatureRequest(agency=agency, task=task, item=item, owner_name=account.owner_name,
                               mobile=account.owner_mobile, email=account.owner_email, content=content,
                               content_sha256=sha256_hex(canonical_json(content)))
        tokens.append(_new_token(req, now))
        rows.append(req)
    SignatureRequest.objects.bulk_create(rows, batch_size=500)
    if rows and rows[0].pk is None:  # a backend that does not return ids from bulk inserts
        by_item = dict(SignatureRequest.objects.filter(task=task).values_list("item_id", "pk"))
        for req in rows:
            req.pk = by_item[req.item_id]
    specs = [spec for req, token in zip(rows, tokens, strict=True)
             for spec in _link_messages(agency=agency, req=req, token=token, now=now)]
    messages_enqueue_bulk(agency=agency, specs=specs)
    event_record(agency=agency, task=task, kind=EventKind.SIGNATURES_REQUESTED, actor_label="system",
                 data={"count": len(rows), "links": len(specs)})
    return len(rows)


def _issue_link(*, agency, req, now) -> str:
    token = _new_token(req, now)
    req.save()
    for spec in _link_messages(agency=agency, req=req, token=token, now=now):
        message_enqueue(agency=agency, **spec)
    return token


def _lock(req_id) -> SignatureRequest:
    return SignatureRequest.objects.select_for_update().select_related("task", "item").get(pk=req_id)


def signature_resend(*, agency, signature: SignatureRequest, actor) -> SignatureRequest:
    with transaction.atomic():
        req = _lock_resendable(signature.pk)
        _issue_link(agency=agency, req=req, now=timezone.now())
        event_record(agency=agency, task=req.task, item=req.item, kind=EventKind.SIGNATURE_LINK_RESENT, actor=actor,
                     data={"signature": req.pk, "version": req.token_version})
    return req


def _lock_resendable(req_id) -> SignatureRequest:
    req = _lock(req_id)
    if req.state not in (State.PENDING, State.REVOKED):
        raise Conflict(_("This owner has already answered (“%(state)s”).") % {"state": req.get_state_display()},
                       code="already_answered")
    if req.item.state != ItemState.APPROVED:
        raise Conflict(_("The item is no longer approved; nothing to sign."), code="wrong_state")
    return req


def signature_link_for_qr(*, agency, signature: SignatureRequest, actor) -> str:
    """An administrator shows the link as a QR code to forward (e.g. over WeChat): a fresh token
    (the previous link stops working), recorded in the audit log; the raw link is returned to
    this one caller and stored nowhere. The link alone still cannot sign or decline."""
    with transaction.atomic():
        req = _lock_resendable(signature.pk)
        token = _new_token(req, timezone.now())
        req.save()
        event_record(agency=agency, task=req.task, item=req.item, kind=EventKind.SIGNATURE_LINK_SHOWN, actor=actor,
                     data={"signature": req.pk, "version": req.token_version, "as": "qr"})
    return signing_link(token)


def signature_revoke(*, agency, signature: SignatureRequest, actor) -> SignatureRequest:
    with transaction.atomic():
        req = _lock(signature.pk)
        if req.state != State.PENDING:
            raise Conflict(_("Only a pending request can be revoked."), code="wrong_state")
        req.state, req.token_hash, req.code_hash = State.REVOKED, None, ""
        req.save(update_fields=["state", "token_hash", "code_hash", "updated_at"])
        event_record(agency=agency, task=req.task, item=req.item, kind=EventKind.SIGNATURE_REVOKED, actor=actor,
                     data={"signature": req.pk})
    return req


def signatures_revoke_open(*, agency, task, actor) -> int:
    return SignatureRequest.objects.filter(task=task, state=State.PENDING).update(
        state=State.REVOKED, token_hash=None, code_hash="", updated_at=timezone.now())


# --- the owner's side (no login: the token, then a session bound to the request) ---------------

class LinkInvalid(Exception):
    """The link is unknown, used, revoked, expired or locked; the message says which, nothing more."""

    def __init__(self, message, code, *, title=""):
        super().__init__(message)
        self.message, self.code, self.title = message, code, title


def signature_by_token(*, token: str) -> SignatureRequest:
    """Find a request by its raw token (across agencies: the token is the credential). A signed
    or declined request keeps its token's hash, so that its link says it was used."""
    from django_scopes import scopes_disabled

    with scopes_disabled():
        req = (SignatureRequest.objects.select_related("agency", "task", "item").filter(token_hash=token_hash(token))
               .first()) if token else None
    if req is None:
        raise LinkInvalid(_("This link is not valid. It may have been replaced by a newer one."), "invalid")
    return req


def signature_by_session(*, req_id: int, version: int) -> SignatureRequest:
    """The request a signing session is bound to, while the link it came from is the current one."""
    from django_scopes import scopes_disabled

    with scopes_disabled():
        req = SignatureRequest.objects.select_related("agency", "task", "item").filter(pk=req_id).first()
    if req is None or req.token_version != version or (req.token_hash is None and req.state == State.PENDING):
        raise LinkInvalid(_("This link is not valid. It may have been replaced by a newer one."), "invalid")
    return req


def check_usable(req, *, now=None) -> None:
    now = now or timezone.now()
    if req.state == State.REVOKED:
        raise LinkInvalid(_("This link has been withdrawn by the agency."), "revoked")
    if req.state in (State.SIGNED, State.DECLINED):
        when = timezone.localtime(req.completed_at, req.agency.tz).strftime("%Y-%m-%d %H:%M")
        if req.state == State.SIGNED:
            raise LinkInvalid(_("You signed this on %(date)s. Nothing more is needed.") % {"date": when}, "signed",
                              title=req.get_state_display())
        raise LinkInvalid(_("You declined this on %(date)s. The agency has your reason.") % {"date": when},
                          "declined", title=req.get_state_display())
    if req.state != State.PENDING:
        raise LinkInvalid(_("This link has already been used."), "used")
    if req.link_expires_at is None or req.link_expires_at <= now:
        raise LinkInvalid(_("This link has expired. Ask the agency to send a new one."), "expired")
    if req.code_attempts >= signing_code_max_attempts():
        raise LinkInvalid(_("Too many wrong codes. Ask the agency to send a new link."), "locked")


def signature_code_send(*, req: SignatureRequest, channel: str) -> str:
    """Send a 6-digit code to the owner's phone or email, at once (quiet hours do not hold a
    code back). Returns the masked address. The raw code is sealed in the message only."""
    now = timezone.now()
    with transaction.atomic():
        req = _lock(req.pk)
        check_usable(req, now=now)
        address = req.mobile if channel == "sms" else req.email if channel == "email" else ""
        if not address:
            raise DomainValidationError(_("No contact of this kind is on file; choose the other one."))
        if req.code_sent_at and (now - req.code_sent_at).total_seconds() < signing_code_resend_seconds():
            raise Conflict(_("A code was sent a moment ago. Please wait a minute before asking again."),
                           code="too_soon")
        if req.code_sends >= signing_code_max_sends():
            raise Conflict(_("Too many codes were sent. Ask the agency to send a new link."), code="too_many")
        code = f"{secrets.randbelow(10**6):06d}"
        req.code_hash = _code_hash(req, code)
        req.code_channel = channel
        req.code_sent_at = now
        # Provisional: when the message actually leaves, the expiry is set from that moment.
        req.code_expires_at = now + timedelta(minutes=signing_code_ttl_minutes())
        req.code_sends += 1
        req.save(update_fields=["code_hash", "code_channel", "code_sent_at", "code_expires_at", "code_sends",
                                "updated_at"])
        message_enqueue(agency=req.agency, channel=channel, kind="signing_code", template_code="signing_code",
                        idempotency_key=f"signing_code:{req.pk}:{req.token_version}:{req.code_sends}",
                        params={"minutes": signing_code_ttl_minutes(), "agency": req.agency.name},
                        secrets={"code": code}, transactional=True, recipient_address=address, task=req.task,
                        send_after=now, ref=f"signature:{req.pk}")
        event_record(agency=req.agency, task=req.task, item=req.item, kind=EventKind.SIGNATURE_CODE_SENT,
                     actor_label=_("owner"), data={"signature": req.pk, "channel": channel,
                                                   "to": mask_address(address)})
    return mask_address(address)


def signature_codes_sent(*, messages) -> int:
    """A code expires a fixed time after it left (not after it was asked for): called with the
    signing-code messages just sent (notifications.signals.message_sent)."""
    from django_scopes import scopes_disabled

    updated = 0
    with scopes_disabled():
        for message in messages:
            if message.kind != "signing_code":
                continue
            _kind, req_id, version, sends = (message.idempotency_key.split(":") + ["", "", ""])[:4]
            if not (req_id.isdigit() and version.isdigit() and sends.isdigit()):
                continue
            updated += SignatureRequest.objects.filter(
                agency_id=message.agency_id, pk=int(req_id), token_version=int(version), code_sends=int(sends),
                state=State.PENDING,
            ).update(code_expires_at=message.sent_at + timedelta(minutes=signing_code_ttl_minutes()))
    return updated


def _verify_code(*, req: SignatureRequest, code: str, now, ip_address, user_agent: str) -> None:
    """The owner's code, checked under the row lock. A wrong one counts (committed even though the
    action fails) and says only that it is wrong, with the attempts left."""
    code = (code or "").strip()
    with transaction.atomic():
        locked = _lock(req.pk)
        check_usable(locked, now=now)
        ok = (bool(locked.code_hash) and locked.code_expires_at is not None and locked.code_expires_at > now
              and len(code) == 6 and code.isdigit()
              and hmac.compare_digest(locked.code_hash, _code_hash(locked, code)))
        if ok:
            return
        locked.code_attempts += 1
        locked.save(update_fields=["code_attempts", "updated_at"])
        event_record(agency=locked.agency, task=locked.task, item=locked.item, kind=EventKind.SIGNATURE_CODE_WRONG,
                     actor_label=_("owner"), ip_address=ip_address, user_agent=user_agent,
                     data={"signature": locked.pk, "attempt": locked.code_attempts})
        left = max(0, signing_code_max_attempts() - locked.code_attempts)
    if not code:
        raise DomainValidationError(_("Enter the 6-digit code we sent you first."), code="code_required",
                                    details={"code": [_("The code is required.")], "attempts_left": left})
    raise DomainValidationError(
        ngettext("The code is not correct or has expired. %(n)d attempt left.",
                 "The code is not correct or has expired. %(n)d attempts left.", left) % {"n": left},
        code="wrong_code", details={"attempts_left": left})


def signature_confirm(*, req: SignatureRequest, code: str, shown_sha256: str, language: str, ip_address=None,
                      user_agent: str = "") -> SignatureRequest:
    """The owner signs with the code."""
    now = timezone.now()
    _verify_code(req=req, code=code, now=now, ip_address=ip_address, user_agent=user_agent)
    with transaction.atomic():
        req = _lock(req.pk)
        check_usable(req, now=now)  # a parallel confirmation may have won
        expected_sha = content_sha256(req.content, language)
        if shown_sha256 and shown_sha256 != expected_sha:
            raise Conflict(_("What you saw is not what is on file. Reload the page and try again."),
                           code="content_mismatch")
        target = req.mobile if req.code_channel == "sms" else req.email
        req.evidence = {
            "signer": req.owner_name, "identity_check": f"{req.code_channel}_code",
            "sent_to": mask_address(target),
            "signed_at": now.isoformat(), "ip": ip_address, "user_agent": user_agent[:400], "language": language,
            "content_sha256": expected_sha, "link_version": req.token_version,
        }
        req.state, req.completed_at, req.code_hash = State.SIGNED, now, ""
        req.save()
        event_record(agency=req.agency, task=req.task, item=req.item, kind=EventKind.SIGNATURE_SIGNED,
                     actor_label=_("owner %(name)s") % {"name": req.owner_name}, ip_address=ip_address,
                     user_agent=user_agent, data={"signature": req.pk, **req.evidence})
        _notify_if_tier_ready(agency=req.agency, req=req)
    return req


def signature_decline(*, req: SignatureRequest, reason: str, code: str = "", language: str, ip_address=None,
                      user_agent: str = "") -> SignatureRequest:
    """The owner declines, with a reason and the same code as for signing (a link alone cannot)."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainValidationError(_("Please tell the agency why you decline."),
                                    details={"reason": [_("A reason is required.")]})
    now = timezone.now()
    _verify_code(req=req, code=code, now=now, ip_address=ip_address, user_agent=user_agent)
    with transaction.atomic():
        req = _lock(req.pk)
        check_usable(req, now=now)
        agency = req.agency
        target = req.mobile if req.code_channel == "sms" else req.email
        req.evidence = {"signer": req.owner_name, "identity_check": f"{req.code_channel}_code",
                        "sent_to": mask_address(target), "declined_at": now.isoformat(),
                        "ip": ip_address, "user_agent": user_agent[:400], "language": language,
                        "content_sha256": content_sha256(req.content, language), "link_version": req.token_version}
        req.state, req.completed_at, req.decline_reason, req.code_hash = State.DECLINED, now, reason, ""
        req.save()
        event_record(agency=agency, task=req.task, item=req.item, kind=EventKind.SIGNATURE_DECLINED,
                     actor_label=_("owner %(name)s") % {"name": req.owner_name}, ip_address=ip_address,
                     user_agent=user_agent, data={"signature": req.pk, "reason": reason, **req.evidence})
        item_transition(agency=agency, item=req.item, to=ItemState.EXCLUDED, kind=EventKind.ITEM_EXCLUDED_BY_OWNER,
                        data={"reason": reason})
        submitter = _submitter_id(req.task)
        if submitter:
            notify_users(agency=agency, user_ids=[submitter], kind="signature_declined",
                         template_code="signature_declined", key=f"signature_declined:{req.pk}",
                         params={"task": req.task.title, "owner": req.owner_name, "reason": reason,
                                 "account": req.content.get("zh-hans", {}).get("account", {}).get("name", ""),
                                 "link": task_url(agency=agency, task=req.task)}, task=req.task)
        _notify_if_tier_ready(agency=agency, req=req)
    return req


def _submitter_id(task) -> int | None:
    return ApprovalRound.objects.filter(task=task).order_by("-number").values_list(
        "submitted_by_id", flat=True).first()


def _notify_if_tier_ready(*, agency, req: SignatureRequest) -> int:
    """When the last owner of a tier has answered and every item left in it is signed, the
    submitter and the agency's administrators are told (in-app and email), once per tier."""
    item = TaskItem.objects.select_related("tier").get(pk=req.item_id)
    tier = item.tier
    if tier is None:
        return 0
    active = TaskItem.objects.filter(tier=tier).exclude(state__in=[ItemState.EXCLUDED, ItemState.CANCELLED])
    if not active.exists() or active.exclude(signature_requests__state=State.SIGNED).exists():
        return 0
    signed = active.count()
    recipients = {*member_ids_with_role(agency=agency, role="owner"), *member_ids_with_role(agency=agency, role="admin")}
    submitter = _submitter_id(req.task)
    if submitter:
        recipients.add(submitter)
    event_record(agency=agency, task=req.task, kind=EventKind.SIGNATURES_TIER_READY, actor_label="system",
                 data={"tier": tier.pk, "signed": signed})
    return notify_users(agency=agency, user_ids=sorted(recipients), kind="tier_ready", template_code="tier_ready",
                        key=f"tier_ready:{tier.pk}", task=req.task,
                        params={"task": req.task.title, "tier": tier.name, "signed": signed,
                                "link": task_url(agency=agency, task=req.task)})


def signature_gate(*, agency, task: ShutdownTask) -> str | None:
    """Execution gate: every item still in the task needs its owner's signature."""
    missing = (TaskItem.objects.filter(task=task).exclude(state__in=INACTIVE_ITEM_STATES)
               .exclude(signature_requests__state=State.SIGNED).count())
    if not missing:
        return None
    return ngettext("%(n)d owner has not signed yet.", "%(n)d owners have not signed yet.", missing) % {"n": missing}
