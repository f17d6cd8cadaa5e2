import sys
import threading

from django.conf import settings

from notifications.sms import BaseSmsBackend, SmsResult


class SmsBackend(BaseSmsBackend):
    """Development: prints each SMS (its kind, template variables and the suggested text filled in)."""

    _lock = threading.Lock()

    def send(self, messages):
        stream = self.options.get("stream") or sys.stdout
        with self._lock:
            for m in messages:
                stream.write(f"SMS to {m.to} [{m.kind}] {m.variables}\n【{settings.SMS_SIGN_NAME}】"
                             f"{m.text}\n(key {m.idempotency_key})\n{'-' * 40}\n")
            stream.flush()
        return [SmsResult(ok=True, provider_message_id=f"console-{m.idempotency_key}") for m in messages]
