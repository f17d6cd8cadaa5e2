"""Tencent Cloud SMS (2021-01-11) through the official SDK.

Tencent templates take positional variables ({1}, {2}, …): `TemplateParamSet` holds exactly
the template's variables in the template's order (settings.SMS_TEMPLATES[kind]["tencent"]
["variables"], default the order of templates.py). No variable is ever a link (Tencent
forbids them): the signing link's address is part of the template, its variable the token.
The idempotency key goes into `SessionContext` (echoed back in receipts).
"""

from django.conf import settings

from notifications.sms import BaseSmsBackend, SmsResult
from notifications.sms.config import TemplateConfigError, template_for


class SmsBackend(BaseSmsBackend):
    provider = "tencent"

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
        """The SDK's SendSmsRequest for one message (TemplateConfigError when its kind has no template)."""
        from tencentcloud.sms.v20210111 import models

        template = template_for(message.kind, self.provider)
        request = models.SendSmsRequest()
        request.SmsSdkAppId = settings.TENCENT_SMS_SDK_APP_ID
        request.SignName = template.sign_name
        request.TemplateId = template.template_id
        request.TemplateParamSet = [str(message.variables.get(name, "")) for name in template.variables]
        request.PhoneNumberSet = [message.to if message.to.startswith("+") else f"+86{message.to}"]
        request.SessionContext = message.idempotency_key[:512]
        return request

    def send(self, messages):
        results = []
        for message in messages:
            try:
                request = self.build_request(message)
            except TemplateConfigError as exc:
                results.append(SmsResult(ok=False, error=str(exc), permanent=True))
                continue
            try:
                response = self.client.SendSms(request)
            except Exception as exc:  # noqa: BLE001 - TencentCloudSDKException and network errors
                results.append(SmsResult(ok=False, error=f"tencent: {exc}"[:500]))
                continue
            status = (response.SendStatusSet or [None])[0]
            if status is not None and status.Code == "Ok":
                results.append(SmsResult(ok=True, provider_message_id=status.SerialNo or ""))
            else:
                code = getattr(status, "Code", "no status")
                results.append(
                    SmsResult(ok=False, error=f"tencent {code}: {getattr(status, 'Message', '')}"[:500])
                )
        return results
