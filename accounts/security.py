"""API tokens, sign-in sessions and security events: the writes and reads of accounts' security.

Tokens: `mcn_<prefix>_<secret>`; only sha256(token) is stored (the secret has 256 bits, so a
plain hash is enough: nothing to brute-force), the prefix is kept to tell tokens apart.
"""

import hashlib
import secrets
from datetime import timedelta

from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from .models import ApiToken, SecurityEvent, UserSession
from .roles import PERMISSIONS

TOKEN_PREFIX = "mcn_"
DEFAULT_TOKEN_DAYS = 90
MAX_TOKEN_DAYS = 365


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def client_ip(request) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


# --- security events ------------------------------------------------------------------------

def security_event_record(*, user, kind: str, detail: str = "", request=None) -> SecurityEvent:
    return SecurityEvent.objects.create(user=user, kind=kind, detail=detail[:300], ip_address=client_ip(request))


def security_events_for(users) -> "list[SecurityEvent]":
    return SecurityEvent.objects.filter(user__in=users).select_related("user")


# --- API tokens -----------------------------------------------------------------------------

@transaction.atomic
def api_token_create(*, user, agency, name: str, scope: str = ApiToken.Scope.READ_ONLY,
                     days: int = DEFAULT_TOKEN_DAYS, request=None) -> tuple[ApiToken, str]:
    """Create a token; returns (token, raw). The raw value is never stored: show it once."""
    days = max(1, min(int(days or DEFAULT_TOKEN_DAYS), MAX_TOKEN_DAYS))
    prefix = secrets.token_hex(4)
    raw = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(user=user, agency=agency, name=name.strip()[:100], scope=scope, prefix=prefix,
                                    key_hash=hash_token(raw), expires_at=timezone.now() + timedelta(days=days))
    security_event_record(user=user, kind=SecurityEvent.Kind.TOKEN_CREATED, detail=f"{token.name} · {agency.slug}",
                          request=request)
    return token, raw


def api_tokens_for(*, user, agency):
    return ApiToken.objects.filter(user=user, agency=agency).order_by("-created_at")


def api_token_revoke(*, token: ApiToken, reason: str = ApiToken.RevokedReason.BY_USER, request=None) -> None:
    if token.revoked_at is not None:
        return
    token.revoked_at = timezone.now()
    token.revoked_reason = reason
    token.save(update_fields=["revoked_at", "revoked_reason"])
    security_event_record(user=token.user, kind=SecurityEvent.Kind.TOKEN_REVOKED,
                          detail=f"{token.name} · {token.agency.slug}", request=request)


def api_tokens_revoke_for_member(*, user, agency, reason: str) -> int:
    tokens = list(ApiToken.objects.live().filter(user=user, agency=agency).select_related("agency", "user"))
    for token in tokens:
        api_token_revoke(token=token, reason=reason)
    return len(tokens)


def api_token_lookup(raw: str) -> ApiToken | None:
    if not raw.startswith(TOKEN_PREFIX):
        return None
    return ApiToken.objects.select_related("user", "agency").filter(key_hash=hash_token(raw)).first()


def api_token_touch(token: ApiToken) -> None:
    """Record the last use, at most once a minute (no write on every request)."""
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now


# --- sessions -------------------------------------------------------------------------------

def _session_store() -> type[SessionBase]:
    from django.conf import settings

    return import_string(f"{settings.SESSION_ENGINE}.SessionStore")


def user_session_record(*, request, user) -> None:
    session = request.session
    if not session.session_key:
        session.save()
    UserSession.objects.update_or_create(
        session_key=session.session_key,
        defaults={"user": user, "last_seen_at": timezone.now(), "ip_address": client_ip(request),
                  "user_agent": request.headers.get("user-agent", "")[:300]},
    )


def user_sessions_for(user):
    return UserSession.objects.filter(user=user).order_by("-last_seen_at")


def user_sessions_end(*, user, keep_key: str | None = None, only_key: str | None = None, request=None) -> int:
    """Sign a user out of their sessions: all, all but `keep_key`, or just `only_key`."""
    rows = UserSession.objects.filter(user=user)
    if keep_key:
        rows = rows.exclude(session_key=keep_key)
    if only_key:
        rows = rows.filter(session_key=only_key)
    store = _session_store()
    ended = 0
    for row in list(rows):
        store(session_key=row.session_key).delete()
        row.delete()
        ended += 1
    if ended:
        security_event_record(user=user, kind=SecurityEvent.Kind.SESSIONS_ENDED, detail=str(ended), request=request)
    return ended


# --- roles ----------------------------------------------------------------------------------

def role_is_lowered(old: str, new: str) -> bool:
    """A change of role is a lowering when the new role lacks any permission of the old one."""
    if old == new:
        return False
    old_perms = {p for p, roles in PERMISSIONS.items() if old in roles}
    new_perms = {p for p, roles in PERMISSIONS.items() if new in roles}
    return not new_perms >= old_perms


def member_access_reduced(*, user, agency, reason: str) -> None:
    """A member left an agency or lost permissions: their tokens for it go, their sessions end."""
    api_tokens_revoke_for_member(user=user, agency=agency, reason=reason)
    user_sessions_end(user=user)
