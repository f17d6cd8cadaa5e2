import sys
import threading

from notifications.sms import BaseSmsBackend, SmsResult


class SmsBackend(BaseSmsBackend):
    """Development: prints each SMS (template code, parameters and the rendered text)."""

    _lock = threading.Lock()

    def send(self, messages):
        stream = self.options.get("stream") or sys.stdout
        with self._lock:
            for m in messages:
                stream.write(f"SMS to {m.to} [{m.kind}] {m.variables}\n"
                             f"{m.text}\n(key {m.idempotency_key})\n{'-' * 40}\n")
            stream.flush()
        return [SmsResult(ok=True, provider_message_id=f"console-{m.idempotency_key}") for m in messages]
