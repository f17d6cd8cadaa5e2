"""Read replica: lists and exports may read from it, nothing else does.

With `DATABASE_REPLICA_URL` set, settings add a second alias, `replica`, and install
`PrimaryReplicaRouter`. Without it there is no alias, no router, and `read_db()` always answers
"default": nothing changes.

The design is explicit rather than automatic. The router sends no read anywhere by itself; a query
reads from the replica only when its code asks for it with `read_replica(queryset, user=…)` —
today the sub-account list (page and API) and the sub-account exports (page, API and the export
job). Everything else (details, forms, permission checks, services, locked reads) stays on the
primary. Even where asked, `read_db()` answers "default" when reading from the replica could miss
a write the reader expects to see:

- inside a transaction (`transaction.atomic`), whose reads belong with its writes;
- in a request that has already written to the primary (every query of a request goes through
  `ReadYourWritesMiddleware`'s wrapper, which notices INSERT/UPDATE/DELETE and locked reads);
- for REPLICA_PIN_SECONDS after the same user's last request that wrote (a POST, PUT, PATCH or
  DELETE that changed something) or after their background job finished: a pin in the shared
  cache, so it holds on any web host. If the cache does not answer, the primary is used.

Writes always go to the primary, also for a row that was read from the replica (the router), and
migrations never run on the replica.

Only put `read_replica()` on the final, read-only queryset of a list or an export: a queryset
bound to the replica must never be used for `.update()`, `.delete()` or `select_for_update()`.
"""

import logging
from contextvars import ContextVar

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections

logger = logging.getLogger(__name__)

REPLICA = "replica"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_WRITE_VERBS = ("INSERT", "UPDATE", "DELETE", "MERGE")


class WriteTracker:
    """A `connection.execute_wrapper` that notes whether any statement wrote (or locked rows)."""

    def __init__(self) -> None:
        self.wrote = False

    def __call__(self, execute, sql, params, many, context):
        if not self.wrote and _is_write(sql):
            self.wrote = True
        return execute(sql, params, many, context)


def _is_write(sql) -> bool:
    text = str(sql).lstrip().upper()
    return text.startswith(_WRITE_VERBS) or " FOR UPDATE" in text or " FOR NO KEY UPDATE" in text


_request_writes: ContextVar[WriteTracker | None] = ContextVar("mcn_request_writes", default=None)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def _pin_key(user_id) -> str:
    return f"db:primary-pin:{user_id}"


def pin_to_primary(user_id) -> None:
    """The user just wrote: their list and export reads use the primary for REPLICA_PIN_SECONDS."""
    if not user_id or not replica_configured():
        return
    try:
        cache.set(_pin_key(user_id), 1, timeout=settings.REPLICA_PIN_SECONDS)
    except Exception:  # noqa: BLE001 - then their next reads may lag; the write itself succeeded
        logger.warning("could not pin user %s to the primary database", user_id, exc_info=True)


def _pinned(user_id) -> bool:
    try:
        return bool(cache.get(_pin_key(user_id)))
    except Exception:  # noqa: BLE001 - the cache does not answer: read from the primary
        return True


def read_db(*, user=None) -> str:
    """The alias a list or export query may read from: "replica" when configured and safe."""
    if not replica_configured():
        return DEFAULT_DB_ALIAS
    if connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return DEFAULT_DB_ALIAS
    tracker = _request_writes.get()
    if tracker is not None and tracker.wrote:
        return DEFAULT_DB_ALIAS
    user_id = getattr(user, "pk", None) if user is not None else None
    if user_id and getattr(user, "is_authenticated", True) and _pinned(user_id):
        return DEFAULT_DB_ALIAS
    return REPLICA


def read_replica(queryset, *, user=None):
    """`queryset` reading from the replica when `read_db()` allows it (see the module's rules)."""
    return queryset.using(read_db(user=user))


class ReadYourWritesMiddleware:
    """Tracks the request's writes on the primary (so that a later read in the same request stays
    there) and pins the user to the primary after a request that wrote. A no-op without a replica."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not replica_configured():
            return self.get_response(request)
        tracker = WriteTracker()
        token = _request_writes.set(tracker)
        try:
            with connections[DEFAULT_DB_ALIAS].execute_wrapper(tracker):
                response = self.get_response(request)
        finally:
            _request_writes.reset(token)
        if tracker.wrote and request.method in UNSAFE_METHODS:
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                pin_to_primary(user.pk)
        return response


class PrimaryReplicaRouter:
    """Installed with DATABASE_REPLICA_URL. Reads: no opinion (a query reads from the replica only
    through `read_replica()`; rows read there load their relations there). Writes: always the
    primary. Migrations: never on the replica."""

    def db_for_read(self, model, **hints):
        return None

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        if {obj1._state.db, obj2._state.db} <= {DEFAULT_DB_ALIAS, REPLICA}:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return False if db == REPLICA else None
