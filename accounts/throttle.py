"""Password spraying: many failed logins from one address, across usernames, lock the address.

django-axes locks a username+address pair after AXES_FAILURE_LIMIT failures; that does not
stop one address trying one password against many usernames. Here every failed login of an
address counts (whatever the username); at LOGIN_ADDRESS_FAILURE_LIMIT within the axes
cool-off window the address is refused at every login (the page, the admin, any
authenticate() call) until the window ends. Counters live in the shared cache (Redis when
REDIS_URL is set).
"""

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied

from .net import client_ip


def _key(ip: str | None) -> str:
    return f"login-failures:{ip or 'unknown'}"


def _window_seconds() -> int:
    return max(1, int(settings.AXES_COOLOFF_TIME.total_seconds()))


def login_address_failure(*, ip: str | None) -> int:
    """Count one failed login of an address. Returns the count in the current window."""
    key = _key(ip)
    if cache.add(key, 1, timeout=_window_seconds()):
        return 1
    try:
        return cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=_window_seconds())
        return 1


def login_address_locked(*, ip: str | None) -> bool:
    limit = int(getattr(settings, "LOGIN_ADDRESS_FAILURE_LIMIT", 20))
    return limit > 0 and (cache.get(_key(ip)) or 0) >= limit


def on_login_failed(sender, credentials=None, request=None, **kwargs) -> None:
    """user_login_failed receiver (connected in AccountsConfig.ready)."""
    if request is not None:
        login_address_failure(ip=client_ip(request))


class AddressLockBackend:
    """First authentication backend: a locked address cannot log in, with any credentials.
    (No get_user: it never authenticates anyone, so sessions never name it.)"""

    def authenticate(self, request, **credentials):
        if request is not None and login_address_locked(ip=client_ip(request)):
            raise PermissionDenied
        return None
