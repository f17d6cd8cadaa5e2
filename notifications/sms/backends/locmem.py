from notifications.sms import BaseSmsBackend, SmsResult

# Like django.core.mail.outbox: every SMS handed to this backend, in order (tests read it).
outbox: list = []


class SmsBackend(BaseSmsBackend):
    """Tests: keeps every message it is given (no de-duplication, so doubles would show)."""

    def send(self, messages):
        outbox.extend(messages)
        return [SmsResult(ok=True, provider_message_id=f"locmem-{len(outbox)}") for _ in messages]
