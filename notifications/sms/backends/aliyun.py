"""Aliyun SMS (dysmsapi 2017-05-25) through the official SDK.

The idempotency key goes into `OutId` (echoed back in delivery receipts), so a resend
after a crash can be matched to the first attempt.
"""

import json

from django.conf import settings

from notifications.sms import BaseSmsBackend, SmsResult, provider_template_code


def _template_id(code: str) -> str:
    mapped = provider_template_code(code)
    return mapped["id"] if isinstance(mapped, dict) else mapped


class SmsBackend(BaseSmsBackend):
    def __init__(self, client=None, **options):
        super().__init__(**options)
        self._client = client

    @property
    def client(self):
        if self._client is None:
            from alibabacloud_dysmsapi20170525.client import Client
            from alibabacloud_tea_openapi import models as open_api_models

            config = open_api_models.Config(
                access_key_id=settings.ALIYUN_SMS_ACCESS_KEY_ID,
                access_key_secret=settings.ALIYUN_SMS_ACCESS_KEY_SECRET,
            )
            config.endpoint = settings.ALIYUN_SMS_ENDPOINT
            self._client = Client(config)
        return self._client

    def build_request(self, message):
        from alibabacloud_dysmsapi20170525 import models as sms_models

        to = message.to[3:] if message.to.startswith("+86") else message.to.lstrip("+")
        return sms_models.SendSmsRequest(
            phone_numbers=to,
            sign_name=message.sign_name or settings.SMS_SIGN_NAME,
            template_code=_template_id(message.template_code),
            template_param=json.dumps({k: str(v) for k, v in message.params.items()}, ensure_ascii=False),
            out_id=message.idempotency_key[:64],
        )

    def send(self, messages):
        from alibabacloud_tea_util import models as util_models

        results = []
        for message in messages:
            try:
                response = self.client.send_sms_with_options(self.build_request(message),
                                                             util_models.RuntimeOptions(read_timeout=10000,
                                                                                        connect_timeout=5000))
            except Exception as exc:  # noqa: BLE001 - the SDK raises its own TeaException and network errors
                results.append(SmsResult(ok=False, error=f"aliyun: {exc}"[:500]))
                continue
            body = response.body
            if body.code == "OK":
                results.append(SmsResult(ok=True, provider_message_id=body.biz_id or ""))
            else:
                results.append(SmsResult(ok=False, error=f"aliyun {body.code}: {body.message}"[:500]))
        return results
