"""Logging filters installed on every handler of settings.LOGGING."""

import logging
import re

# /sign/<token>/ (the owner's one-time link) → /sign/[redacted]/; the token-free session
# page /sign/s/<handle>/ is redacted too (its handle is only good with the session cookie), and
# so is the short link /s/<token> of an SMS.
SIGNING_PATH = re.compile(r"(/sign/|/s/)(s/)?[^/\s?#\"'&]+")


def _has_signing_path(text: str) -> bool:
    return "/sign/" in text or "/s/" in text


def redact_signing_paths(text: str) -> str:
    return SIGNING_PATH.sub(lambda m: m.group(1) + (m.group(2) or "") + "[redacted]", text)


class RedactSigningTokens(logging.Filter):
    """No log line (access log, errors, anything) carries a signing link's token."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is logged as it is
            return True
        if _has_signing_path(message):
            record.msg, record.args = redact_signing_paths(message), ()
        for attr in ("request_line", "path"):
            value = getattr(record, attr, None)
            if isinstance(value, str) and _has_signing_path(value):
                setattr(record, attr, redact_signing_paths(value))
        return True
