"""Logs as an operator reads them: one JSON object per line, a request id that follows the
request into its Celery jobs, no credentials. Sentry only with SENTRY_DSN."""

import io
import json
import logging

import pytest
from django.urls import reverse
from kombu import Connection

from config.celery import app
from ops.context import request_id_var

JOB_LOGGER = "tests.ops.job"


@app.task(name="tests.ops.log_in_a_job")
def log_in_a_job():
    logging.getLogger(JOB_LOGGER).info("job ran")


@pytest.fixture
def log_lines():
    """The lines the configured console handler writes (the handler of settings.LOGGING)."""
    handler = next(h for h in logging.getLogger().handlers
                   if isinstance(h, logging.StreamHandler) and any(
                       type(f).__name__ == "CredentialRedactionFilter" for f in h.filters))
    stream = io.StringIO()
    old = handler.setStream(stream)

    def read() -> list[dict]:
        return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]

    yield read
    handler.setStream(old)


def test_every_request_gets_an_id_in_the_response_and_one_json_line(world_a, log_lines):
    client = world_a.client("operator")
    url = reverse("agency:subaccount_list", kwargs={"agency_slug": world_a.agency.slug})
    response = client.get(url)
    rid = response["X-Request-ID"]
    assert len(rid) == 32
    line = next(entry for entry in log_lines() if entry["logger"] == "ops.request")
    assert line["request_id"] == rid and line["status"] == 200 and line["path"] == url
    assert line["view"] == "agency:subaccount_list" and line["agency"] == world_a.agency.slug
    assert line["user_id"] == world_a.user("operator").pk and line["level"] == "INFO" and "duration_ms" in line


def test_an_id_from_the_load_balancer_is_kept_and_a_bad_one_replaced(client, db):
    assert client.get("/accounts/login/", HTTP_X_REQUEST_ID="lb-7f3a9c2e-0001")["X-Request-ID"] == "lb-7f3a9c2e-0001"
    injected = client.get("/accounts/login/", HTTP_X_REQUEST_ID='x" \n{"level": "CRITICAL"}')["X-Request-ID"]
    assert injected != 'x" \n{"level": "CRITICAL"}' and len(injected) == 32


def test_the_request_id_travels_in_the_job_message_and_into_the_job_log(log_lines):
    token = request_id_var.set("req-0123456789abcdef")
    try:
        with Connection("memory://") as conn:
            log_in_a_job.apply_async(producer=conn.Producer(), queue="ops-test")
            message = conn.SimpleQueue("ops-test").get(timeout=2)
            headers = message.headers
            message.ack()
    finally:
        request_id_var.reset(token)
    assert headers["request_id"] == "req-0123456789abcdef"
    # The worker side: the job runs with that id on its log lines, and clears it afterwards.
    log_in_a_job.apply(headers=headers)
    assert request_id_var.get() == ""
    job = next(entry for entry in log_lines() if entry["logger"] == JOB_LOGGER)
    assert job["request_id"] == "req-0123456789abcdef" and job["msg"] == "job ran"
    # A job beat starts (no request) still gets an id of its own.
    log_in_a_job.apply()
    ids = [e["request_id"] for e in log_lines() if e["logger"] == JOB_LOGGER]
    assert ids[-1].startswith("job-")


def test_credentials_never_reach_a_log_line(log_lines, settings):
    log = logging.getLogger("tests.ops.secrets")
    settings.METRICS_BEARER_TOKEN = "metrics-token-abcdef0123456789"
    log.info("GET /sign/AbCdEf0123456789xyz/ 200")
    log.info("GET /calendar/s3cr3t-feed-token-42.ics 200")
    log.info("download %s", "https://oss.example.cn/b/k.pdf?X-Amz-Credential=AKIA123&X-Amz-Signature=deadbeef99")
    log.warning("header Authorization: Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b")
    log.warning("could not connect to postgres://mcn:pg-pass-77@db.internal:5432/mcn")
    log.error("payload %s", {"code": "482913", "password": "hunter22", "agency": "alpha"})
    log.error("settings leak %s and %s", settings.SECRET_KEY, settings.METRICS_BEARER_TOKEN)
    try:
        raise ValueError("bad token=tok_live_abcdef123456")
    except ValueError:
        log.exception("failed")
    text = "\n".join(json.dumps(e, ensure_ascii=False) for e in log_lines())
    for secret in ("AbCdEf0123456789xyz", "s3cr3t-feed-token-42", "deadbeef99", "AKIA123",
                   "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", "pg-pass-77", "482913", "hunter22",
                   settings.SECRET_KEY, "metrics-token-abcdef0123456789", "tok_live_abcdef123456"):
        assert secret not in text, secret
    assert text.count("[redacted]") >= 11
    assert "alpha" in text and "db.internal" in text  # the rest of the line stays readable


def test_sentry_is_off_without_a_dsn_and_reports_scrubbed_with_one():
    import sentry_sdk
    from sentry_sdk.transport import Transport

    from ops.sentry import sentry_init

    assert sentry_sdk.get_client().transport is None  # nothing can be sent

    class Capture(Transport):
        events: list = []

        def capture_envelope(self, envelope):
            event = envelope.get_event()
            if event is not None:
                self.events.append(event)

    secret = "-".join(["redis", "pass", "99"])  # not in this file's text (Sentry sends source lines)
    token = request_id_var.set("req-sentry-00000001")
    try:
        sentry_init(dsn="https://public@sentry.example.invalid/1", transport=Capture)
        assert sentry_sdk.get_client().is_active()
        try:
            raise RuntimeError(f"cannot reach redis://:{secret}@10.0.0.4:6379/0")
        except RuntimeError as exc:
            sentry_sdk.capture_exception(exc)
        sentry_sdk.flush()
    finally:
        sentry_sdk.init(dsn=None)  # off again
        request_id_var.reset(token)
    event = Capture.events[-1]
    assert "redis-pass-99" not in json.dumps(event, default=str)
    assert event["tags"]["request_id"] == "req-sentry-00000001"
    assert sentry_sdk.get_client().transport is None
