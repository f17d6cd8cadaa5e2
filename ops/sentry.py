"""Sentry error reporting, on only when SENTRY_DSN is set (config/settings.py calls sentry_init)."""

import os

from .log_secrets import redact


def _scrub(event, hint):
    """No credentials leave the process: messages, URLs and exception values are redacted."""
    request = event.get("request") or {}
    for key in ("url", "query_string"):
        if isinstance(request.get(key), str):
            request[key] = redact(request[key])
    headers = request.get("headers") or {}
    for name in list(headers):
        if name.lower() in ("authorization", "cookie", "x-csrftoken"):
            headers[name] = "[redacted]"
    if isinstance(event.get("logentry"), dict) and isinstance(event["logentry"].get("message"), str):
        event["logentry"]["message"] = redact(event["logentry"]["message"])
    for exc in (event.get("exception") or {}).get("values", []):
        if isinstance(exc.get("value"), str):
            exc["value"] = redact(exc["value"])
    from .context import current_request_id

    if current_request_id():
        event.setdefault("tags", {})["request_id"] = current_request_id()
    return event


def sentry_init(*, dsn: str, transport=None) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        environment=os.environ.get("SENTRY_ENVIRONMENT", "production"),
        release=os.environ.get("SENTRY_RELEASE") or None,
        traces_sample_rate=float(os.environ.get("SENTRY_TRACES_SAMPLE_RATE", "0")),
        # No user data (the default) and no local variables: a frame may hold a token or a code.
        include_local_variables=False,
        before_send=_scrub,
        transport=transport,
    )
