"""One-time secrets carried by a message (a signing link's token, a one-time code).

They are never stored readable: the outbox row keeps them sealed (Fernet: AES-128-CBC +
HMAC-SHA256) under a key that only the delivery path uses, and drops the sealed value as
soon as the message is sent, fails for good or is cancelled. Nothing that lists or shows
messages (API, pages, exports, logs) ever unseals.

Keys: settings.OUTBOX_SEAL_KEYS (Fernet keys, newest first, for rotation); when empty, one
key is derived from SECRET_KEY under its own label.
"""

import base64
import hashlib
import json
import math
import secrets

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


def _fernet() -> MultiFernet:
    keys = [k for k in getattr(settings, "OUTBOX_SEAL_KEYS", []) if k]
    if not keys:
        derived = hashlib.sha256(b"mcn-shutdown/outbox-seal/v1:" + settings.SECRET_KEY.encode()).digest()
        keys = [base64.urlsafe_b64encode(derived).decode()]
    return MultiFernet([Fernet(k) for k in keys])


def seal(values: dict) -> str:
    """The sealed form of `values` (a JSON object of strings), to store on the message row."""
    return _fernet().encrypt(json.dumps(values, ensure_ascii=False).encode()).decode() if values else ""


def unseal(sealed: str) -> dict:
    """For delivery only. A value sealed under a retired key (or tampered with) yields {}."""
    if not sealed:
        return {}
    try:
        return json.loads(_fernet().decrypt(sealed.encode()))
    except (InvalidToken, ValueError):
        return {}


# Short tokens (a signing link sent by SMS: a provider's variable holds at most 35 characters,
# 12 on some accounts — and a link may not be one). 20 letters of a 32-letter alphabet with no
# look-alikes (no l, o, 0, 1) carry 100 bits, above the 96 asked of an unguessable token.
SHORT_TOKEN_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"
SHORT_TOKEN_LENGTH = 20
SHORT_TOKEN_BITS = SHORT_TOKEN_LENGTH * math.log2(len(SHORT_TOKEN_ALPHABET))


def short_token() -> str:
    """A fresh random token for a short link; store only its hash (or sealed), like any secret."""
    return "".join(secrets.choice(SHORT_TOKEN_ALPHABET) for _ in range(SHORT_TOKEN_LENGTH))
