"""Several machines at once, on PostgreSQL + Redis (skipped otherwise): two beats and two
workers running together send every reminder exactly once, and a request's id shows on the
log line of the job it started, in another process."""

import json
import os
import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from notifications.models import OutboundMessage
from tests.builders import make_task
from tests.conftest import requires_postgres, requires_redis
from tests.factories import AgencyFactory, SubAccountFactory
from tests.notifications import test_faults_pg
from tests.notifications.test_faults_pg import _delivered, _status_counts, _stop, _wait
from tests.shutdown.helpers import clean


def _worker(tmp_path, *, loglevel: str = "WARNING", **kwargs):
    """The fault tests' worker (PostgreSQL of this run, Redis, slow file SMS backend), at `loglevel`."""
    popen = test_faults_pg.subprocess.Popen

    def with_level(args, **kw):
        return popen([a if not a.startswith("--loglevel=") else f"--loglevel={loglevel}" for a in args], **kw)

    test_faults_pg.subprocess.Popen = with_level
    try:
        return test_faults_pg._worker(tmp_path, **kwargs)
    finally:
        test_faults_pg.subprocess.Popen = popen


def _reminders(agency, n: int, *, due_in: float, prefix: str) -> list[str]:
    send_after = timezone.now() + timedelta(seconds=due_in)
    with scopes_disabled():
        OutboundMessage.objects.bulk_create([
            OutboundMessage(agency=agency, channel="sms", kind="reminder", template_code="deadline_reminder",
                            recipient_address="+8613800138000", body=f"提醒 {i}", send_after=send_after,
                            idempotency_key=f"{prefix}:{i}") for i in range(n)])
    return [f"{prefix}:{i}" for i in range(n)]


@requires_postgres
@requires_redis
@pytest.mark.django_db(transaction=True)
def test_two_beats_and_two_workers_send_every_reminder_once(tmp_path):
    redis_url = os.environ["REDIS_URL"]
    agency_a, agency_b = AgencyFactory(slug="beats-a"), AgencyFactory(slug="beats-b")
    keys = _reminders(agency_a, 150, due_in=-60, prefix="due-a") + _reminders(agency_b, 150, due_in=-5, prefix="due-b")
    # Both processes run a beat (as two hosts would by mistake, or a restarted beat overlapping).
    first = _worker(tmp_path, redis_url=redis_url, beat=True, name="beat1")
    second = _worker(tmp_path, redis_url=redis_url, beat=True, name="beat2")
    try:
        time.sleep(3)
        keys += _reminders(agency_a, 100, due_in=4, prefix="later-a")  # falling due while both run
        _wait(lambda: _status_counts()["sent"] == 400, 180, "every reminder to be sent")
        time.sleep(3)  # several more sweeps of both beats: nothing more may go out
    finally:
        _stop(first)
        _stop(second)
    attempts = (tmp_path / "sms" / "attempts.log").read_text().split()
    assert sorted(attempts) == sorted(keys)  # each handed to the provider once, none twice
    assert sorted(_delivered(tmp_path)) == sorted(f"{k.replace(':', '_')}.json" for k in keys)
    assert _status_counts() == {"pending": 0, "sending": 0, "sent": 400, "failed": 0}
    # Both workers did part of the work (the claims spread, they did not serialise on one).
    logs = [(tmp_path / f"{name}.log").read_text() for name in ("beat1", "beat2")]
    assert all("Traceback" not in log for log in logs), logs


@requires_postgres
@requires_redis
@pytest.mark.django_db(transaction=True)
def test_the_request_id_reaches_the_job_log_in_the_worker(tmp_path, monkeypatch):
    from tests.conftest import _make_world

    monkeypatch.setenv("LOG_FORMAT", "json")
    world = _make_world("rid-mcn")
    accounts = [SubAccountFactory(agency=world.agency, platform="douyin", **clean())]
    task = make_task(world, accounts)
    worker = _worker(tmp_path, redis_url=os.environ["REDIS_URL"], beat=False, name="rid", loglevel="INFO")
    # Celery writes the job's "succeeded" line at INFO through our handlers (JSON, request id).
    try:
        time.sleep(3)
        client = world.client("operator")
        url = reverse("shutdown:task_action", kwargs={"agency_slug": world.agency.slug, "pk": task.pk,
                                                     "action": "precheck"})
        response = client.post(url, HTTP_X_REQUEST_ID="lb-req-424242424242")
        assert response.status_code == 302 and response["X-Request-ID"] == "lb-req-424242424242"

        def job_logged() -> list[dict]:
            lines = (tmp_path / "rid.log").read_text().splitlines()
            return [json.loads(x) for x in lines if x.startswith("{") and "lb-req-424242424242" in x]

        _wait(lambda: job_logged(), 60, "the worker to log the job with the request id")
    finally:
        _stop(worker)
    entry = job_logged()[0]
    assert entry["process"] != os.getpid() and entry["request_id"] == "lb-req-424242424242"
