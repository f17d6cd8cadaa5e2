"""The request id of the work in progress: set by ops.middleware.RequestIdMiddleware for a
request, and by ops.celery_signals for a Celery job started by that request."""

import re
import uuid
from contextvars import ContextVar

request_id_var: ContextVar[str] = ContextVar("request_id", default="")

# An id from the load balancer (X-Request-ID) is kept when it looks like one; anything else is
# replaced, so a client cannot inject text into the logs.
_VALID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def new_request_id() -> str:
    return uuid.uuid4().hex


def accept_request_id(value: str | None) -> str:
    return value if value and _VALID.match(value) else new_request_id()


def current_request_id() -> str:
    return request_id_var.get()
