"""Django's file-based email backend, slowed down: the fault test kills a worker mid-sweep and
counts the emails in the files (one `X-Idempotency-Key:` header per email written)."""

import os
import time

from django.core.mail.backends import filebased


class EmailBackend(filebased.EmailBackend):
    def __init__(self, *args, file_path=None, **kwargs):
        super().__init__(*args, file_path=file_path or os.environ["EMAIL_FILE_PATH"], **kwargs)

    def send_messages(self, email_messages):
        time.sleep(0.05)
        return super().send_messages(email_messages)
