"""Tencent Cloud SMS (2021-01-11) through the official SDK.

Tencent templates take positional parameters: SMS_TEMPLATE_CODES may map a code to
{"id": "123456", "params": ["name", "date"]} to fix their order (else the params' order).
The idempotency key goes into `SessionContext` (echoed back in receipts).
"""

from django.conf import settings

from notifications.sms import BaseSmsBackend, SmsResult, provider_template_code


class SmsBackend(BaseSmsBackend):
    def __init__(self, client=None, **options):
        super().__init__(**options)
        self._client = client

    @property
    def client(self):
        if self._client is None:
            from tencentcloud.common import credential
            from tencentcloud.sms.v20210111 import sms_client

            cred = credential.Credential(settings.TENCENT_SMS_SECRET_ID, settings.TENCENT_SMS_SECRET_KEY)
            self._client = sms_client.SmsClient(cred, settings.TENCENT_SMS_REGION)
        return self._client

    def build_request(self, message):
        from tencentcloud.sms.v20210111 import models

        mapped = provider_template_code(message.template_code)
        if isinstance(mapped, dict):
            template_id, order = mapped["id"], mapped.get("params") or list(message.params)
        else:
            template_id, order = mapped, list(message.params)
        request = models.SendSmsRequest()
        request.SmsSdkAppId = settings.TENCENT_SMS_SDK_APP_ID
        request.SignName = message.sign_name or settings.SMS_SIGN_NAME
        request.TemplateId = str(template_id)
        request.TemplateParamSet = [str(message.params.get(name, "")) for name in order]
        request.PhoneNumberSet = [message.to if message.to.startswith("+") else f"+86{message.to}"]
        request.SessionContext = message.idempotency_key[:512]
        return request

    def send(self, messages):
        results = []
        for message in messages:
            try:
                response = self.client.SendSms(self.build_request(message))
            except Exception as exc:  # noqa: BLE001 - TencentCloudSDKException and network errors
                results.append(SmsResult(ok=False, error=f"tencent: {exc}"[:500]))
                continue
            status = (response.SendStatusSet or [None])[0]
            if status is not None and status.Code == "Ok":
                results.append(SmsResult(ok=True, provider_message_id=status.SerialNo or ""))
            else:
                code = getattr(status, "Code", "no status")
                results.append(SmsResult(ok=False, error=f"tencent {code}: {getattr(status, 'Message', '')}"[:500]))
        return results
