"""A web worker does its first-use work at boot (ops/warmup.py, called from config/wsgi.py),
so the first request after a deploy or a worker recycle is not the slow one."""

import logging
import sys

import pytest

from ops import warmup


def test_warm_up_loads_views_templates_and_the_sign_in_page_without_a_database():
    # No `db` fixture: any query here fails the test (a worker whose database is down must boot).
    loaded = warmup.warm_up()
    assert loaded["url_patterns"] > 5
    assert loaded["templates"] >= 50  # the project's own templates, compiled and cached
    assert loaded["login_page"] == 200
    for module in ("shutdown.api.views", "agency.views.subaccounts", "approvals.views", "ops.metrics"):
        assert module in sys.modules, module


def test_a_failing_warm_up_request_is_logged_and_the_worker_still_starts(monkeypatch, caplog):
    def broken(self, environ, start_response):
        raise RuntimeError("template exploded")

    monkeypatch.setattr("django.core.handlers.wsgi.WSGIHandler.__call__", broken)
    with caplog.at_level(logging.WARNING, logger="ops.warmup"):
        loaded = warmup.warm_up()
    assert loaded["login_page"] == 0
    assert "warm-up request failed" in caplog.text


@pytest.mark.parametrize("hosts", [[], ["*"], [".example.cn"]])
def test_no_concrete_host_means_no_warm_up_request(settings, hosts):
    settings.ALLOWED_HOSTS = hosts
    assert warmup.warm_up()["login_page"] == 0


def test_wsgi_module_warms_up_unless_turned_off(monkeypatch):
    calls = []
    monkeypatch.setattr(warmup, "warm_up", lambda: calls.append(1))
    sys.modules.pop("config.wsgi", None)
    monkeypatch.setenv("WEB_WARM_UP", "0")
    import config.wsgi  # noqa: F401

    assert calls == []
    sys.modules.pop("config.wsgi", None)
    monkeypatch.setenv("WEB_WARM_UP", "1")
    import config.wsgi  # noqa: F401, F811

    assert calls == [1]


@pytest.mark.django_db
def test_warm_up_neither_queries_nor_closes_a_connection_already_open(django_assert_num_queries):
    from accounts.models import User

    User.objects.exists()  # a connection is open (and inside the test's transaction)
    with django_assert_num_queries(0):
        assert warmup.warm_up()["login_page"] == 200
    User.objects.exists()  # still usable: the warm-up request did not close it


def test_the_warm_up_request_is_neither_logged_nor_counted_but_a_client_cannot_hide_that_way(caplog):
    from django.test import Client

    from ops.metrics import REQUESTS

    def count():
        return sum(s.value for m in REQUESTS.collect() for s in m.samples
                   if s.name.endswith("_total") and s.labels.get("view") == "accounts:login")

    before = count()
    with caplog.at_level(logging.INFO, logger="ops.request"):
        assert warmup.warm_up()["login_page"] == 200
    assert count() == before
    assert "GET /accounts/login/" not in caplog.text
    # The same marker sent as a header is just a header: the request is logged and counted.
    with caplog.at_level(logging.INFO, logger="ops.request"):
        Client(headers={"mcn.warm_up": "1"}).get("/accounts/login/")
    assert count() == before + 1
    assert "GET /accounts/login/" in caplog.text


def test_a_celery_worker_warms_up_what_the_first_message_would_load_without_a_database():
    # No `db` fixture: a query fails the test (a worker starts while its database is down).
    loaded = warmup.warm_up_worker()
    assert loaded["url_patterns"] > 5  # an email's settings link is reversed from these
    assert loaded["templates"] >= 20  # every notifications/*.txt and the email frame
    from django.template import engines

    cached = engines["django"].engine.template_loaders[0]
    assert "notifications/deadline_reminder.txt" in str(list(cached.get_template_cache.keys()))


def test_the_worker_start_signal_warms_up_unless_turned_off(monkeypatch):
    import weakref

    from celery.signals import worker_init

    from ops import celery_signals

    receivers = [ref() if isinstance(ref, weakref.ref) else ref for _key, ref in worker_init.receivers]
    assert celery_signals._warm_up in receivers  # called when a worker starts
    calls = []
    monkeypatch.setattr(warmup, "warm_up_worker", lambda: calls.append(1))
    monkeypatch.setenv("WORKER_WARM_UP", "0")
    celery_signals._warm_up()
    assert calls == []
    monkeypatch.setenv("WORKER_WARM_UP", "1")
    celery_signals._warm_up()
    assert calls == [1]


def test_a_failing_worker_warm_up_is_logged_and_the_worker_still_starts(monkeypatch, caplog):
    from ops import celery_signals

    def broken():
        raise RuntimeError("catalogue unreadable")

    monkeypatch.setattr(warmup, "warm_up_worker", broken)
    with caplog.at_level(logging.WARNING, logger="ops.warmup"):
        celery_signals._warm_up()
    assert "worker warm-up failed" in caplog.text
