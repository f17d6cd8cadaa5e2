"""CredentialRedactionFilter: credentials never reach a log line.

Separate from the signing work's filter for `/sign/<token>` paths (both can be installed):
this one covers what the operations side logs — request lines, Celery arguments, exceptions:

- the secret path segments of the public URLs (`/sign/<token>/`, `/calendar/<token>.ics`);
- query-string values whose name says secret (`token=`, `key=`, `signature=`, `X-Amz-Signature=`,
  `password=`, `code=`, `secret=`…), e.g. in a presigned object-storage URL;
- `Authorization: Token …` / `Bearer …` / `Basic …` values;
- passwords inside URLs (`postgres://user:PASSWORD@host`, `redis://:PASSWORD@host`);
- `password=…`, `"secret_key": "…"`-style pairs;
- the configured secret values themselves (SECRET_KEY, SMTP password, SMS and S3 keys,
  the metrics token, the Sentry DSN), wherever they appear.
"""

import logging
import re

REDACTED = "[redacted]"

_PATTERNS: list[tuple[re.Pattern, str]] = [
    (re.compile(r"(/sign/)[^/\s?\"']+"), r"\1" + REDACTED),
    (re.compile(r"(/calendar/)[^/\s?\"'.]+(\.ics)"), r"\1" + REDACTED + r"\2"),
    (re.compile(r"(?i)([?&](?:[\w-]*token|[\w-]*key|[\w-]*secret|password|passwd|code|signature|"
                r"x-amz-signature|x-amz-credential|x-amz-security-token|accesskeyid|sig)=)[^&\s\"']+"),
     r"\1" + REDACTED),
    (re.compile(r"\b(Token|Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{16,}"), r"\1 " + REDACTED),
    (re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s/]+(@)"), r"\1" + REDACTED + r"\2"),
    (re.compile(r"(?i)([\"']?\b(?:password|passwd|secret|secret_key|api_key|access_key|token)[\"']?"
                r"\s*[:=]\s*[\"']?)([^\"',\s}]+)"), r"\1" + REDACTED),
    (re.compile(r"(?i)([\"']?\bcode[\"']?\s*[:=]\s*[\"']?)\d{4,8}\b"), r"\1" + REDACTED),
]

_SECRET_SETTINGS = (
    "SECRET_KEY", "ALIYUN_SMS_ACCESS_KEY_SECRET", "TENCENT_SMS_SECRET_KEY", "METRICS_BEARER_TOKEN", "SENTRY_DSN",
)


def _configured_secrets() -> list[str]:
    try:
        from django.conf import settings

        if not settings.configured:
            return []
        values = [getattr(settings, name, "") for name in _SECRET_SETTINGS]
        values.append(settings.MAILERS.get("default", {}).get("OPTIONS", {}).get("password", ""))
        values.append(settings.STORAGES.get("default", {}).get("OPTIONS", {}).get("secret_key") or "")
    except Exception:  # noqa: BLE001 - settings not ready: the patterns still apply
        return []
    return sorted({v for v in values if isinstance(v, str) and len(v) >= 8}, key=len, reverse=True)


def redact(text: str) -> str:
    for value in _configured_secrets():
        text = text.replace(value, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class CredentialRedactionFilter(logging.Filter):
    """Rewrites the message (and any formatted traceback) of every record with `redact`."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string is logged as it is
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        for key in ("path", "url", "args", "kwargs"):
            if isinstance(getattr(record, key, None), str):
                setattr(record, key, redact(getattr(record, key)))
        return True
