"""Nothing lost, nothing doubled — with a real worker, a real Redis and PostgreSQL.

- a worker killed (SIGKILL) in the middle of delivering a batch: every reminder is still
  delivered, exactly once at the provider (the idempotency key), and the DB says sent once;
- the same with email (no idempotency at SMTP): at most the one email inside the transport
  call when the worker died goes out twice; none is lost;
- Redis stopped while reminders fall due: nothing is delivered while it is down, everything
  is delivered once it is back (the rows are the source of truth; beat sweeps them).
- with 1,000,000 stored rows the due-row query uses the partial index.
"""

import os
import shutil
import signal
import socket
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from django_scopes import scopes_disabled

from notifications.models import OutboundMessage
from tests.conftest import requires_postgres, requires_redis
from tests.factories import AgencyFactory

ROOT = Path(__file__).resolve().parents[2]
CELERY = str(ROOT / ".venv" / "bin" / "celery")


def _db_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _worker(tmp_path, *, redis_url: str, beat: bool, name: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": _db_url(), "REDIS_URL": redis_url, "VAR_DIR": str(tmp_path / "var"),
           "SMS_BACKEND": "tests.notifications.slow_backend.SmsBackend", "SMS_FILE_PATH": str(tmp_path / "sms"),
           "SMS_QUIET_HOURS_START": "0", "SMS_QUIET_HOURS_END": "0", "NOTIFY_SWEEP_BATCH": "20",
           "NOTIFY_SWEEP_INTERVAL_SECONDS": "1", "NOTIFY_SENDING_TIMEOUT_SECONDS": "3",
           "EMAIL_BACKEND": "tests.notifications.slow_email_backend.EmailBackend",
           "EMAIL_FILE_PATH": str(tmp_path / "email"), "TESTING": "1", "CELERY_TASK_ALWAYS_EAGER": "0"}
    env.pop("PYTEST_CURRENT_TEST", None)
    args = [CELERY, "-A", "config", "worker", "--pool=solo", "--without-gossip", "--without-mingle",
            "--loglevel=WARNING", "-n", f"{name}@%h"]
    if beat:
        args += ["-B", "--schedule", str(tmp_path / f"beat-{name}")]
    log = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(proc: subprocess.Popen, sig=signal.SIGTERM) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _wait(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _make_due(agency, n: int, *, due_in: float = -1.0) -> list[str]:
    send_after = timezone.now() + timedelta(seconds=due_in)
    with scopes_disabled():
        OutboundMessage.objects.bulk_create([
            OutboundMessage(agency=agency, channel="sms", kind="reminder", template_code="deadline_reminder",
                            recipient_address="+8613800138000", body=f"提醒 {i}", send_after=send_after,
                            idempotency_key=f"fault:{i}") for i in range(n)])
    return [f"fault:{i}" for i in range(n)]


def _status_counts():
    with scopes_disabled():
        return {s: OutboundMessage.objects.filter(status=s).count() for s in ("pending", "sending", "sent", "failed")}


def _delivered(tmp_path) -> list[str]:
    folder = tmp_path / "sms"
    return [p.name for p in folder.glob("*.json")] if folder.exists() else []


@requires_postgres
@requires_redis
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_still_delivers_everything_once(tmp_path):
    from notifications.tasks import messages_sweep

    agency = AgencyFactory(slug="fault-kill")
    keys = _make_due(agency, 200)
    redis_url = os.environ["REDIS_URL"]
    first = _worker(tmp_path, redis_url=redis_url, beat=False, name="kill1")
    try:
        messages_sweep.apply_async()
        _wait(lambda: len(_delivered(tmp_path)) >= 50, 60, "the first worker to deliver some messages")
        os.killpg(first.pid, signal.SIGKILL)  # no goodbye, mid-batch
        first.wait()
    finally:
        _stop(first, signal.SIGKILL)
    half = _status_counts()
    # The claimed batch in flight stays `sending` (resolved after the timeout), the rest pending.
    assert 0 < half["pending"] + half["sending"] < 200, half
    assert half["sending"] <= 20, half
    second = _worker(tmp_path, redis_url=redis_url, beat=True, name="kill2")
    try:
        _wait(lambda: _status_counts()["sent"] == 200, 90, "every message to be sent")
    finally:
        _stop(second)
    assert sorted(_delivered(tmp_path)) == sorted(f"{k.replace(':', '_')}.json" for k in keys)
    attempts = (tmp_path / "sms" / "attempts.log").read_text().split()
    assert set(attempts) == set(keys)
    # Resends happen only for the batch that was in flight, with the same key (the provider dedups).
    assert len(attempts) - len(keys) <= 20
    assert _status_counts() == {"pending": 0, "sending": 0, "sent": 200, "failed": 0}


def _emails_written(tmp_path) -> list[str]:
    """The idempotency key of every email the file backend wrote (one header per email)."""
    folder = tmp_path / "email"
    keys = []
    for path in folder.glob("*.log") if folder.exists() else []:
        keys += [line.split(":", 1)[1].strip() for line in path.read_text(encoding="utf-8").splitlines()
                 if line.startswith("X-Idempotency-Key:")]
    return keys


@requires_postgres
@requires_redis
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_sweep_sends_each_email_once_but_the_one_in_flight(tmp_path):
    from notifications.tasks import messages_sweep

    agency = AgencyFactory(slug="fault-email")
    send_after = timezone.now() - timedelta(seconds=1)
    keys = [f"mail:{i}" for i in range(200)]
    with scopes_disabled():
        OutboundMessage.objects.bulk_create([
            OutboundMessage(agency=agency, channel="email", kind="reminder", template_code="deadline_reminder",
                            recipient_address=f"owner{i}@example.test", subject=f"提醒 {i}", body=f"提醒 {i}",
                            send_after=send_after, idempotency_key=key) for i, key in enumerate(keys)])
    redis_url = os.environ["REDIS_URL"]
    first = _worker(tmp_path, redis_url=redis_url, beat=False, name="mailkill1")
    try:
        messages_sweep.apply_async()
        _wait(lambda: len(_emails_written(tmp_path)) >= 50, 90, "the first worker to send some emails")
        os.killpg(first.pid, signal.SIGKILL)  # no goodbye, mid-sweep
        first.wait()
    finally:
        _stop(first, signal.SIGKILL)
    half = _status_counts()
    # The claimed batch (20) stays `sending` until the timeout; its emails not yet sent are not lost.
    assert half["sent"] >= 49 and 0 < half["pending"] and half["sending"] <= 20, half
    second = _worker(tmp_path, redis_url=redis_url, beat=True, name="mailkill2")
    try:
        _wait(lambda: _status_counts()["sent"] == 200, 120, "every email to be sent")
    finally:
        _stop(second)
    written = _emails_written(tmp_path)
    assert set(written) == set(keys)  # none lost
    assert len(written) - len(keys) <= 1  # one worker process killed: at most one email twice
    assert _status_counts() == {"pending": 0, "sending": 0, "sent": 200, "failed": 0}
    with scopes_disabled():
        assert sum(OutboundMessage.objects.values_list("attempts", flat=True)) <= 201


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@requires_postgres
@requires_redis
@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs the redis-server binary")
@pytest.mark.django_db(transaction=True)
def test_redis_stopped_while_reminders_fall_due_delivers_everything_once_back(tmp_path):
    port = _free_port()
    redis_args = ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"]
    redis = subprocess.Popen(redis_args, stdout=subprocess.DEVNULL, start_new_session=True)
    time.sleep(0.5)
    agency = AgencyFactory(slug="fault-redis")
    worker = _worker(tmp_path, redis_url=f"redis://127.0.0.1:{port}/0", beat=True, name="redis1")
    try:
        time.sleep(4)  # the worker and its beat are up
        keys = _make_due(agency, 30, due_in=3)
        redis.terminate()
        redis.wait()
        time.sleep(8)  # the reminders fall due while Redis is down
        assert _status_counts()["sent"] == 0
        redis = subprocess.Popen(redis_args, stdout=subprocess.DEVNULL, start_new_session=True)
        _wait(lambda: _status_counts()["sent"] == 30, 120, "delivery after Redis came back")
    finally:
        _stop(worker)
        redis.terminate()
        redis.wait()
    assert len(_delivered(tmp_path)) == 30
    assert sorted((tmp_path / "sms" / "attempts.log").read_text().split()) == sorted(keys)


@requires_postgres
@pytest.mark.django_db
def test_the_due_row_query_uses_the_index_with_a_million_rows():
    from notifications.explain import due_query_uses_index, fill_outbox

    agency = AgencyFactory(slug="explain")
    fill_outbox(agency_id=agency.pk, rows=1_000_000)
    uses, plan = due_query_uses_index()
    assert uses, plan
