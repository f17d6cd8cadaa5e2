"""Liveness and readiness for load balancers and orchestrators. Unauthenticated, and they
give nothing away: the names of the checks and ok/failed, never an error text or a host.

- /healthz: the process answers (no database, no cache): restart it when this fails.
- /readyz: the database answers, the cache and the Celery broker are reachable, and every
  migration on disk is applied: send traffic only when this is 200.
"""

import logging
import time

from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse

logger = logging.getLogger(__name__)

_migrations_applied = False  # once true it stays true for this process (the code on disk is fixed)


def check_database() -> bool:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone()[0] == 1


def check_cache() -> bool:
    key = "ops:readyz"
    value = str(time.monotonic())
    cache.set(key, value, timeout=30)
    return cache.get(key) == value


def check_broker() -> bool:
    from config.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        return conn.connected


def check_migrations() -> bool:
    global _migrations_applied
    if not _migrations_applied:
        connection = connections[DEFAULT_DB_ALIAS]
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        _migrations_applied = not plan
    return _migrations_applied


CHECKS = {"database": check_database, "cache": check_cache, "broker": check_broker, "migrations": check_migrations}


def _no_store(response):
    response["Cache-Control"] = "no-store"
    return response


def healthz(request):
    return _no_store(JsonResponse({"status": "ok"}))


def readyz(request):
    results = {}
    for name, check in CHECKS.items():
        try:
            results[name] = "ok" if check() else "failed"
        except Exception:  # noqa: BLE001 - the reason goes to the log, not to the prober
            logger.warning("readiness check %s failed", name, exc_info=True)
            results[name] = "failed"
    ready = all(v == "ok" for v in results.values())
    return _no_store(JsonResponse({"status": "ok" if ready else "unavailable", "checks": results},
                                  status=200 if ready else 503))
