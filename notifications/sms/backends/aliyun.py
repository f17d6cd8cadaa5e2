"""Aliyun SMS (dysmsapi 2017-05-25) through the official SDK.

`TemplateParam` is a JSON object with exactly the template's variables (templates.py), each
within the template's length limit; the template code and sign name come from
settings.SMS_TEMPLATES[kind]["aliyun"]. The idempotency key goes into `OutId` (echoed back in
delivery receipts), so a resend after a crash can be matched to the first attempt.
"""

import json

from django.conf import settings

from notifications.sms import BaseSmsBackend, SmsResult
from notifications.sms.config import TemplateConfigError, template_for


class SmsBackend(BaseSmsBackend):
    provider = "aliyun"

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
        """The SDK's SendSmsRequest for one message (TemplateConfigError when its kind has no template)."""
        from alibabacloud_dysmsapi20170525 import models as sms_models

        template = template_for(message.kind, self.provider)
        to = message.to[3:] if message.to.startswith("+86") else message.to.lstrip("+")
        values = {name: str(message.variables.get(name, "")) for name in template.variables}
        return sms_models.SendSmsRequest(
            phone_numbers=to,
            sign_name=template.sign_name,
            template_code=template.template_id,
            template_param=json.dumps(values, ensure_ascii=False),
            out_id=message.idempotency_key[:64],
        )

    def send(self, messages):
        from alibabacloud_tea_util import models as util_models

        results = []
        for message in messages:
            try:
                request = self.build_request(message)
            except TemplateConfigError as exc:
                results.append(SmsResult(ok=False, error=str(exc), permanent=True))
                continue
            try:
                response = self.client.send_sms_with_options(
                    request, util_models.RuntimeOptions(read_timeout=10000, connect_timeout=5000)
                )
            except Exception as exc:  # noqa: BLE001 - the SDK raises its own TeaException and network errors
                results.append(SmsResult(ok=False, error=f"aliyun: {exc}"[:500]))
                continue
            body = response.body
            if body.code == "OK":
                results.append(SmsResult(ok=True, provider_message_id=body.biz_id or ""))
            else:
                results.append(SmsResult(ok=False, error=f"aliyun {body.code}: {body.message}"[:500]))
        return results
