"""The client address behind proxies, and logins from one address across many usernames."""

import logging

import pytest
from django.test import RequestFactory
from django.urls import reverse

from accounts.net import client_ip
from config.log_filters import RedactSigningTokens, redact_signing_paths
from tests.factories import PASSWORD, UserFactory


def _request(remote="10.0.0.2", forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@pytest.mark.parametrize("hops,forwarded,expected", [
    (0, "6.6.6.6", "10.0.0.2"),                       # no proxy: the header is the client's own words
    (1, "6.6.6.6, 203.0.113.9", "203.0.113.9"),       # one proxy appended the real address
    (1, "203.0.113.9", "203.0.113.9"),
    (2, "6.6.6.6, 203.0.113.9, 10.0.0.7", "203.0.113.9"),
    (1, "", "10.0.0.2"),
    (1, "6.6.6.6, not-an-address", "10.0.0.2"),
])
def test_the_client_is_counted_from_the_right_end(settings, hops, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = hops
    assert client_ip(_request(forwarded=forwarded)) == expected


def _users(n):
    return [UserFactory(email=f"user{i}@spray.test") for i in range(n)]


@pytest.mark.django_db
def test_many_failed_logins_from_one_address_across_usernames_lock_that_address(client, settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 4
    users = _users(5)
    url = reverse("accounts:login")
    for user in users[:4]:  # one wrong password per username: no username alone is locked
        assert client.post(url, {"username": user.email, "password": "Spring2026!"}).status_code == 200
    locked = client.post(url, {"username": users[4].email, "password": PASSWORD})
    assert locked.status_code == 429 and "_auth_user_id" not in client.session
    assert "Too many failed logins came from your network" in locked.content.decode()
    # another address logs in as usual
    other = client_class_for("198.51.100.77")
    assert other.post(url, {"username": users[4].email, "password": PASSWORD}).status_code == 302


@pytest.mark.django_db
def test_rotating_a_spoofed_forwarded_header_does_not_escape_the_lock(settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 3
    settings.TRUSTED_PROXY_COUNT = 1
    users = _users(4)
    url = reverse("accounts:login")
    from django.test import Client

    for i, user in enumerate(users[:3]):
        Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=f"7.7.7.{i}, 203.0.113.9").post(
            url, {"username": user.email, "password": "wrong"})
    attempt = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="8.8.8.8, 203.0.113.9")
    assert attempt.post(url, {"username": users[3].email, "password": PASSWORD}).status_code == 429


def client_class_for(address):
    from django.test import Client

    return Client(REMOTE_ADDR=address)


def test_signing_tokens_are_redacted_from_every_log_line():
    assert redact_signing_paths('"GET /sign/AbC_d-123456789012345678901/ HTTP/1.1" 302') == \
        '"GET /sign/[redacted]/ HTTP/1.1" 302'
    assert redact_signing_paths("Gone: /sign/s/h4ndl3/") == "Gone: /sign/s/[redacted]/"
    record = logging.LogRecord("django.server", logging.INFO, __file__, 1, '"%s" %s %s',
                               ("GET /sign/secret-token-value-1234567890/?lang=en HTTP/1.1", "302", "0"), None)
    assert RedactSigningTokens().filter(record)
    assert "secret-token" not in record.getMessage() and "/sign/[redacted]/" in record.getMessage()


def test_every_configured_handler_redacts_signing_tokens():
    handlers = set(logging.getLogger().handlers) | set(logging.getLogger("django.server").handlers)
    assert handlers
    for handler in handlers:
        if type(handler).__module__.startswith("_pytest"):  # pytest's own capture handlers
            continue
        assert any(isinstance(f, RedactSigningTokens) for f in handler.filters), handler
