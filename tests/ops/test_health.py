"""/healthz and /readyz: what a load balancer sees."""

import pytest
from django.db import connection
from django.test import Client

from ops import health


@pytest.fixture(autouse=True)
def _fresh_migration_check(monkeypatch):
    monkeypatch.setattr(health, "_migrations_applied", False)


@pytest.mark.django_db
def test_healthz_answers_without_login_database_or_session(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response and "sessionid" not in response.cookies


@pytest.mark.django_db
def test_readyz_is_ok_when_database_cache_broker_and_migrations_are(client):
    response = client.get("/readyz/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "cache": "ok", "broker": "ok",
                                                          "migrations": "ok"}}


@pytest.mark.django_db
def test_readyz_says_503_for_an_unapplied_migration_and_gives_nothing_away(client):
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM django_migrations WHERE app = 'notifications' AND name = "
                       "(SELECT MAX(name) FROM django_migrations WHERE app = 'notifications')")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["checks"]["migrations"] == "failed"
    assert response.json()["checks"]["database"] == "ok"
    assert "notifications" not in response.content.decode()


@pytest.mark.django_db
def test_readyz_says_503_when_the_broker_is_down_without_the_error_text(client, monkeypatch):
    def unreachable():
        raise ConnectionRefusedError("redis://:hunter2@10.0.0.9:6379 refused")

    monkeypatch.setitem(health.CHECKS, "broker", unreachable)
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json()["checks"]["broker"] == "failed"
    assert "hunter2" not in response.content.decode() and "10.0.0.9" not in response.content.decode()


@pytest.mark.django_db
def test_probes_answer_over_plain_http_and_any_host_when_https_is_forced(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["backoffice.example.cn"]
    client = Client()
    # The load balancer probes the instance by its address over HTTP.
    assert client.get("/healthz", HTTP_HOST="10.0.3.17:8000").status_code == 200
    assert client.get("/readyz", HTTP_HOST="10.0.3.17:8000").status_code == 200
    # Everything else still goes to HTTPS on a known host.
    page = client.get("/accounts/login/", HTTP_HOST="backoffice.example.cn")
    assert page.status_code == 301 and page["Location"].startswith("https://backoffice.example.cn/")
    assert client.get("/accounts/login/", HTTP_HOST="10.0.3.17:8000").status_code == 400
    # Only GET/HEAD are probes; anything else goes the normal way (and finds no page).
    assert client.post("/healthz", HTTP_HOST="backoffice.example.cn").status_code == 404
