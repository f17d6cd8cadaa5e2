"""A file SMS backend that is slow and logs every attempt: fault tests kill a worker mid-batch."""

import time
from pathlib import Path

from django.conf import settings

from notifications.sms.backends import file


class SmsBackend(file.SmsBackend):
    def send(self, messages):
        folder = Path(settings.SMS_FILE_PATH)
        folder.mkdir(parents=True, exist_ok=True)
        results = []
        for m in messages:
            with open(folder / "attempts.log", "a", encoding="utf-8") as log:
                log.write(m.idempotency_key + "\n")
            time.sleep(0.03)
            results.extend(super().send([m]))
        return results
