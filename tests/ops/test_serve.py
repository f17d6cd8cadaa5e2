"""The production way: gunicorn with the repository's config and DEBUG off; WhiteNoise
serving hashed, compressed static files with far-future caching."""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, **headers):
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - local server

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@pytest.mark.skipif(not GUNICORN.exists(), reason="gunicorn is not installed in .venv")
def test_gunicorn_with_the_repository_config_and_debug_off(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "TESTING", "DATABASE_URL", "REDIS"))}
    env.update({
        "DEBUG": "0", "SECRET_KEY": "gunicorn-test-" + "k" * 50, "VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}", "ALLOWED_HOSTS": "backoffice.example.cn",
        "SECURE_SSL_REDIRECT": "1", "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"), "LOG_FORMAT": "json",
    })
    log = open(tmp_path / "gunicorn.log", "w+")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([str(GUNICORN), "-c", "config/gunicorn.conf.py"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, _, body = _get(base + "/healthz")
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError((tmp_path / "gunicorn.log").read_text()) from None
                time.sleep(0.3)
        assert status == 200 and json.loads(body) == {"status": "ok"}
        # Not migrated: alive, but not ready (the load balancer keeps traffic away).
        status, _, body = _get(base + "/readyz")
        assert status == 503 and json.loads(body)["checks"]["migrations"] == "failed"
        # Pages go to HTTPS.
        status, headers, _ = _get(base + "/accounts/login/", Host="backoffice.example.cn")
        assert status == 301 and headers["Location"].startswith("https://backoffice.example.cn/")
        for _ in range(6):
            _get(base + "/healthz")
        # /metrics sums the workers (Prometheus multiprocess mode).
        status, _, body = _get(base + "/metrics")
        assert status == 200 and b"mcn_http_requests_total" in body
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    log.seek(0)
    lines = [json.loads(line) for line in log.read().splitlines() if line.startswith("{")]
    log.close()
    requests = [entry for entry in lines if entry.get("logger") == "ops.request"]
    assert requests and all(len(entry["request_id"]) == 32 for entry in requests)
    assert {entry["process"] for entry in requests} - {proc.pid}  # answered by the workers


@pytest.mark.django_db
def test_static_files_are_hashed_compressed_and_cached_for_a_year(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STATICFILES_FINDERS = ["django.contrib.staticfiles.finders.FileSystemFinder"]  # project files only
    settings.STORAGES = {**settings.STORAGES,
                         "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}}
    call_command("collectstatic", interactive=False, verbosity=0)
    from django.contrib.staticfiles.storage import staticfiles_storage

    hashed = staticfiles_storage.url("css/app.css")
    assert hashed != "/static/css/app.css" and hashed.startswith("/static/css/app.") and hashed.endswith(".css")
    client = Client()  # a new handler: WhiteNoise indexes STATIC_ROOT when it starts
    response = client.get(hashed, HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert "immutable" in response["Cache-Control"] and "max-age=" in response["Cache-Control"]
    assert int(response["Cache-Control"].split("max-age=")[1].split(",")[0]) >= 365 * 24 * 3600
    assert len(b"".join(response.streaming_content)) < (settings.STATIC_ROOT / hashed[8:]).stat().st_size
