import json
import os
from pathlib import Path

from django.conf import settings

from notifications.sms import BaseSmsBackend, SmsResult


def _safe(key: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in key)


class SmsBackend(BaseSmsBackend):
    """Development: one JSON file per SMS under SMS_FILE_PATH, named after its idempotency key.

    Like a provider that honours idempotency keys, a second send with the same key is
    accepted without writing again (the file is created exclusively).
    """

    def send(self, messages):
        folder = Path(self.options.get("file_path") or settings.SMS_FILE_PATH)
        folder.mkdir(parents=True, exist_ok=True)
        results = []
        for m in messages:
            path = folder / f"{_safe(m.idempotency_key or os.urandom(8).hex())}.json"
            payload = {"to": m.to, "kind": m.kind, "variables": m.variables, "text": m.text,
                       "idempotency_key": m.idempotency_key}
            try:
                with open(path, "x", encoding="utf-8") as fh:
                    json.dump(payload, fh, ensure_ascii=False)
            except FileExistsError:
                pass
            results.append(SmsResult(ok=True, provider_message_id=path.name))
        return results
