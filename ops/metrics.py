"""Prometheus metrics at /metrics.

Per process (summed over gunicorn workers in multiprocess mode when PROMETHEUS_MULTIPROC_DIR
is set, which `make serve` does): requests and latency per view, database queries per request.
Read from the database and the broker at scrape time (the same on every web host): outbox
backlog and the age of the oldest due message, failed deliveries, signature requests pending,
Celery queue length.

Open to loopback, to METRICS_ALLOWED_IPS (addresses or networks) and to a bearer token
(METRICS_BEARER_TOKEN); 403 to everybody else.
"""

import hmac
import ipaddress
import logging
import os

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
QUERY_BUCKETS = (0, 1, 2, 5, 10, 20, 50, 100, 200, 500)

REQUESTS = Counter("mcn_http_requests_total", "HTTP requests by view, method and status",
                   ["view", "method", "status"])
LATENCY = Histogram("mcn_http_request_duration_seconds", "Time to answer a request, by view",
                    ["view", "method"], buckets=LATENCY_BUCKETS)
DB_QUERIES = Counter("mcn_db_queries_total", "Database queries run while answering requests, by view", ["view"])
DB_QUERIES_PER_REQUEST = Histogram("mcn_db_queries_per_request", "Database queries per request, by view",
                                   ["view"], buckets=QUERY_BUCKETS)


def celery_queue_lengths() -> dict[str, int]:
    from config.celery import app

    queues = {q.name for q in (app.conf.task_queues or [])} or {app.conf.task_default_queue or "celery"}
    lengths = {}
    with app.connection_for_read() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        channel = conn.default_channel
        for name in sorted(queues):
            try:
                lengths[name] = channel.queue_declare(queue=name, passive=True).message_count
            except Exception:  # noqa: BLE001 - a queue nobody declared yet is empty
                lengths[name] = 0
    return lengths


class DomainCollector:
    """Gauges read at scrape time, across all agencies (no tenant data, only counts)."""

    def collect(self):
        from django.db.models import Count, Min
        from django_scopes import scopes_disabled

        from approvals.models import SignatureRequest
        from notifications.models import OutboundMessage

        now = timezone.now()
        backlog = GaugeMetricFamily("mcn_outbox_due_messages", "Outbox messages due and not sent yet, by channel",
                                    labels=["channel"])
        oldest = GaugeMetricFamily("mcn_outbox_oldest_due_age_seconds",
                                   "Age of the oldest outbox message that is due and not sent (0 when none)")
        failed = GaugeMetricFamily("mcn_outbox_failed_messages", "Outbox messages whose delivery failed for good, "
                                   "by channel", labels=["channel"])
        pending_sig = GaugeMetricFamily("mcn_signature_requests_pending", "Owner signature requests waiting")
        queue = GaugeMetricFamily("mcn_celery_queue_length", "Messages waiting in a Celery queue", labels=["queue"])
        up = GaugeMetricFamily("mcn_metrics_source_up", "1 when a metrics source answered the scrape",
                               labels=["source"])
        try:
            with scopes_disabled():
                due = OutboundMessage.objects.filter(status=OutboundMessage.Status.PENDING, send_after__lte=now)
                by_channel = dict(due.values_list("channel").annotate(n=Count("id")).order_by())
                first = due.aggregate(first=Min("send_after"))["first"]
                failed_by_channel = dict(OutboundMessage.objects.filter(status=OutboundMessage.Status.FAILED)
                                         .values_list("channel").annotate(n=Count("id")).order_by())
                signatures = SignatureRequest.objects.filter(state=SignatureRequest.State.PENDING).count()
            for channel in sorted(set(by_channel) | {"email", "sms", "inapp"}):
                backlog.add_metric([channel], by_channel.get(channel, 0))
                failed.add_metric([channel], failed_by_channel.get(channel, 0))
            oldest.add_metric([], max(0.0, (now - first).total_seconds()) if first else 0.0)
            pending_sig.add_metric([], signatures)
            up.add_metric(["database"], 1)
            yield from (backlog, oldest, failed, pending_sig)
        except Exception:  # noqa: BLE001 - a scrape never fails: the source is marked down
            logger.warning("metrics: database gauges failed", exc_info=True)
            up.add_metric(["database"], 0)
        try:
            for name, length in celery_queue_lengths().items():
                queue.add_metric([name], length)
            up.add_metric(["broker"], 1)
            yield queue
        except Exception:  # noqa: BLE001
            logger.warning("metrics: broker gauges failed", exc_info=True)
            up.add_metric(["broker"], 0)
        yield up


def _client_allowed(request) -> bool:
    token = settings.METRICS_BEARER_TOKEN
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip(), token):
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    if address.is_loopback:
        return True
    for allowed in settings.METRICS_ALLOWED_IPS:
        try:
            if address in ipaddress.ip_network(allowed, strict=False):
                return True
        except ValueError:
            continue
    return False


def registry() -> CollectorRegistry:
    multiproc_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if multiproc_dir:
        from prometheus_client import multiprocess

        reg = CollectorRegistry()
        multiprocess.MultiProcessCollector(reg)
    else:
        reg = CollectorRegistry()
        reg.register(_DefaultRegistryProxy())
    reg.register(DomainCollector())
    return reg


class _DefaultRegistryProxy:
    """The process's own counters (single-process servers: runserver, tests)."""

    def collect(self):
        yield from REGISTRY.collect()


def metrics_view(request):
    if not _client_allowed(request):
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    response = HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response
