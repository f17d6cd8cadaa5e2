"""Middleware of the operations layer (order in settings.MIDDLEWARE: these three first).

- OpsEndpointsMiddleware answers /healthz, /readyz and /metrics before the host check, the
  HTTPS redirect, sessions and CSRF: load balancers probe by IP address over plain HTTP, and a
  probe must not create a session or depend on ALLOWED_HOSTS.
- RequestIdMiddleware gives every request an id (X-Request-ID from the load balancer when it
  looks like one, else a new one), puts it on every log line and Celery job of the request,
  sends it back in the response, and writes one JSON line per request.
- RequestMetricsMiddleware counts requests, latency and database queries per view.
"""

import logging
import time

from django.db import connections

from .context import accept_request_id, request_id_var

logger = logging.getLogger("ops.request")

OPS_PATHS = {"/healthz", "/healthz/", "/readyz", "/readyz/", "/metrics", "/metrics/"}
# Set in the WSGI environ by a worker's own warm-up request (ops/warmup.py): not logged, not
# counted. A client cannot set it: headers reach the environ only as HTTP_* keys.
WARM_UP_KEY = "mcn.warm_up"


class OpsEndpointsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info in OPS_PATHS and request.method in ("GET", "HEAD"):
            name = request.path_info.strip("/")
            if name == "healthz":
                from .health import healthz

                return healthz(request)
            if name == "readyz":
                from .health import readyz

                return readyz(request)
            from .metrics import metrics_view

            return metrics_view(request)
        return self.get_response(request)


def _view_name(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "<unresolved>"
    return match.view_name or match._func_path


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.META.get(WARM_UP_KEY):
            return self.get_response(request)
        request_id = accept_request_id(request.headers.get("x-request-id"))
        request.request_id = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        try:
            response = self.get_response(request)
            status = response.status_code
            response["X-Request-ID"] = request_id
            return response
        finally:
            user = getattr(request, "user", None)
            logger.info(
                "%s %s %s", request.method, request.path, status,
                extra={"method": request.method, "path": request.path, "status": status,
                       "view": _view_name(request),
                       "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                       "user_id": user.pk if user is not None and user.is_authenticated else None,
                       "agency": getattr(getattr(request, "agency", None), "slug", None)},
            )
            request_id_var.reset(token)


class _QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


class RequestMetricsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.META.get(WARM_UP_KEY):
            return self.get_response(request)
        from .metrics import DB_QUERIES, DB_QUERIES_PER_REQUEST, LATENCY, REQUESTS

        counter = _QueryCounter()
        started = time.perf_counter()
        status = 500
        wrappers = [connections[alias].execute_wrapper(counter) for alias in connections]
        for w in wrappers:
            w.__enter__()
        try:
            response = self.get_response(request)
            status = response.status_code
            return response
        finally:
            for w in reversed(wrappers):
                w.__exit__(None, None, None)
            view = _view_name(request)
            method = request.method if request.method in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD") else "OTHER"
            REQUESTS.labels(view, method, str(status)).inc()
            LATENCY.labels(view, method).observe(time.perf_counter() - started)
            DB_QUERIES.labels(view).inc(counter.count)
            DB_QUERIES_PER_REQUEST.labels(view).observe(counter.count)
