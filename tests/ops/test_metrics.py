"""/metrics as Prometheus sees it: who may scrape, and the figures an operator alerts on."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled
from prometheus_client.parser import text_string_to_metric_families

from approvals.models import SignatureRequest
from notifications.models import OutboundMessage
from shutdown.models import TaskItem
from tests.builders import make_task
from tests.factories import SubAccountFactory
from tests.shutdown.helpers import clean


def scrape(client, **extra) -> dict:
    response = client.get("/metrics", **extra)
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.mark.django_db
def test_open_to_loopback_configured_networks_and_the_token_closed_to_the_rest(client, settings):
    settings.METRICS_ALLOWED_IPS = ["10.8.0.0/16", "192.168.1.7"]
    settings.METRICS_BEARER_TOKEN = "scrape-token-0123456789abcdef"
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.8.3.4").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.168.1.7").status_code == 200
    closed = client.get("/metrics", REMOTE_ADDR="203.0.113.9")
    assert closed.status_code == 403 and b"mcn_" not in closed.content
    assert client.get("/metrics", REMOTE_ADDR="192.168.1.8").status_code == 403
    # A forwarded address does not open it (only the peer address counts).
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="127.0.0.1").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9",
                      HTTP_AUTHORIZATION="Bearer scrape-token-0123456789abcdef").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    settings.METRICS_BEARER_TOKEN = ""
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer ").status_code == 403


def test_requests_latency_and_queries_are_counted_per_view(world_a, client):
    view = "agency:subaccount_list"
    before = scrape(client)
    SubAccountFactory(agency=world_a.agency)
    page = world_a.client("operator")
    url = reverse(view, kwargs={"agency_slug": world_a.agency.slug})
    assert page.get(url).status_code == 200
    assert page.get(url).status_code == 200
    assert page.get(url + "nope/").status_code == 404
    after = scrape(client)
    assert value(after, "mcn_http_requests_total", view=view, method="GET", status="200") - value(
        before, "mcn_http_requests_total", view=view, method="GET", status="200") == 2
    assert value(after, "mcn_http_request_duration_seconds_count", view=view, method="GET") - value(
        before, "mcn_http_request_duration_seconds_count", view=view, method="GET") == 2
    queries = value(after, "mcn_db_queries_total", view=view) - value(before, "mcn_db_queries_total", view=view)
    assert queries >= 4  # session, user, membership, the list…
    assert value(after, "mcn_db_queries_per_request_count", view=view) - value(
        before, "mcn_db_queries_per_request_count", view=view) == 2
    assert value(after, "mcn_http_requests_total", view="<unresolved>", method="GET", status="404") >= 1


def test_outbox_backlog_oldest_due_failed_and_signatures_pending(worlds, client):
    world_a, world_b = worlds
    now = timezone.now()
    with scopes_disabled():
        rows = []
        for i, (agency, minutes, status, channel) in enumerate([
            (world_a.agency, 30, "pending", "sms"),     # due 30 minutes ago: the oldest
            (world_b.agency, 5, "pending", "sms"),
            (world_b.agency, 1, "pending", "email"),
            (world_a.agency, -60, "pending", "email"),  # due in an hour: not backlog
            (world_a.agency, 90, "sent", "email"),
            (world_a.agency, 90, "failed", "sms"),
            (world_b.agency, 90, "failed", "email"),
        ]):
            rows.append(OutboundMessage(agency=agency, channel=channel, kind="reminder", template_code="x",
                                        recipient_address="a@b.cn", send_after=now - timedelta(minutes=minutes),
                                        status=status, idempotency_key=f"m{i}"))
        OutboundMessage.objects.bulk_create(rows)
    task = make_task(world_a, [SubAccountFactory(agency=world_a.agency, **clean()) for _ in range(2)])
    with world_a.scope():
        items = list(TaskItem.objects.filter(task=task))
        SignatureRequest.objects.create(agency=world_a.agency, task=task, item=items[0], content_sha256="0" * 64)
        SignatureRequest.objects.create(agency=world_a.agency, task=task, item=items[1], content_sha256="1" * 64,
                                        state=SignatureRequest.State.SIGNED)
    samples = scrape(client)
    assert value(samples, "mcn_outbox_due_messages", channel="sms") == 2
    assert value(samples, "mcn_outbox_due_messages", channel="email") == 1
    assert 29 * 60 <= value(samples, "mcn_outbox_oldest_due_age_seconds") <= 31 * 60
    assert value(samples, "mcn_outbox_failed_messages", channel="sms") == 1
    assert value(samples, "mcn_outbox_failed_messages", channel="email") == 1
    assert value(samples, "mcn_signature_requests_pending") == 1
    assert value(samples, "mcn_metrics_source_up", source="database") == 1


@pytest.mark.django_db
def test_celery_queue_length_counts_waiting_jobs(client, monkeypatch):
    from ops import metrics

    monkeypatch.setattr(metrics, "celery_queue_lengths", lambda: {"celery": 7, "delivery": 0})
    samples = scrape(client)
    assert value(samples, "mcn_celery_queue_length", queue="celery") == 7
    assert value(samples, "mcn_metrics_source_up", source="broker") == 1

    def down():
        raise ConnectionError("broker down")

    monkeypatch.setattr(metrics, "celery_queue_lengths", down)
    samples = scrape(client)  # the scrape still answers; the source is marked down
    assert value(samples, "mcn_metrics_source_up", source="broker") == 0
    assert value(samples, "mcn_metrics_source_up", source="database") == 1


@pytest.mark.django_db
def test_celery_queue_length_reads_the_real_broker(client):
    """With the broker of this run (the embedded one on SQLite, Redis when REDIS_URL is set): a
    job published and not consumed shows in the queue."""
    from config.celery import app
    from ops.metrics import celery_queue_lengths

    before = celery_queue_lengths()["celery"]
    app.send_task("ops.tests.never_consumed", queue="celery")
    try:
        assert celery_queue_lengths()["celery"] == before + 1
    finally:
        if before == 0:  # leave the broker as found
            with app.connection_for_write() as conn:
                conn.default_channel.queue_purge("celery")
