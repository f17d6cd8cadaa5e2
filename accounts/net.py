"""Who is asking: the client address behind our proxies, and per-address rate limits.

The address comes from the right end of X-Forwarded-For, as many hops in as there are
trusted proxies (settings.TRUSTED_PROXY_COUNT; 0 = no proxy: REMOTE_ADDR). The left end is
whatever the client wrote and is never used. Every place that records or throttles an
address (signature evidence, audit events, signing throttles, login locks) calls client_ip.
"""

import ipaddress
import time

from django.conf import settings
from django.core.cache import cache

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _valid(value: str | None) -> str | None:
    value = (value or "").strip()
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_ip(request) -> str | None:
    """The client's address as the last trusted proxy saw it (None when unknown)."""
    if request is None:
        return None
    remote = _valid(request.META.get("REMOTE_ADDR"))
    hops = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0) or 0)
    if hops <= 0:
        return remote
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
    if not forwarded:
        return remote
    # Proxy n appends the address it received from: the client is hops-th from the right.
    return _valid(forwarded[-min(hops, len(forwarded))]) or remote


def parse_rate(rate: str) -> tuple[int, int]:
    """'30/min' → (30, 60): requests per seconds (the DRF notation: s, m, h, d and longer words)."""
    count, _sep, period = rate.partition("/")
    return int(count), _PERIODS[period.strip()[0]]


def configured_rate(scope: str) -> str | None:
    return settings.REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES", {}).get(scope)


def rate_limit_hit(*, scope: str, ident: str | None, rate: str | None = None) -> int:
    """Count one request of `ident` under `scope` (fixed window, shared cache).

    Returns 0 when allowed, else the seconds until the window ends (for Retry-After).
    """
    rate = rate or configured_rate(scope)
    if not rate:
        return 0
    limit, period = parse_rate(rate)
    now = int(time.time())
    window = now // period
    key = f"ratelimit:{scope}:{ident or 'unknown'}:{window}"
    cache.add(key, 0, timeout=period + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, timeout=period + 1)
        count = 1
    return 0 if count <= limit else max(1, (window + 1) * period - now)
