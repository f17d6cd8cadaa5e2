"""SMS that providers accept, built from real outbox rows of every kind.

The rows come from the product's own flows (a task submitted, rejected, appealed, left past its
SLA, approved; owners' signing links and codes, a decline, a signature completing a tier; a
deadline's reminders; a monitoring alert). They are delivered through the real Aliyun and
Tencent Cloud SDK clients, intercepted at their send call (no network), and each request is
checked against the provider's documented rules: exactly the template's variables (Tencent:
in the template's order), each within the length limit, no links, nothing internal, Chinese
words and dates as people read them.
"""

import json
import re
from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.test import Client
from django_scopes import scope, scopes_disabled

from approvals.models import Appeal, ApprovalStage, SignatureRequest
from approvals.services.decisions import appeal_decide, appeal_file, approval_decide, task_submit
from approvals.services.signatures import (
    content_sha256,
    signature_code_send,
    signature_confirm,
    signature_decline,
)
from approvals.services.sla import approval_sla_sweep
from notifications.models import MEMBER_KINDS, ChannelPreference, OutboundMessage
from notifications.secrets import SHORT_TOKEN_ALPHABET, SHORT_TOKEN_BITS, unseal
from notifications.services.delivery import messages_deliver_due
from notifications.sms.templates import SMS_TEMPLATES
from tests.builders import make_task
from tests.deadlines.helpers import BARE_TASK, at, take_effect
from tests.factories import SubAccountFactory

pytestmark = pytest.mark.django_db

START = at(2030, 3, 4, 10, 0)  # a Monday morning, outside the SMS quiet hours
LINKISH = re.compile(r"https?://|www\.|\.(com|cn|net)\b|/", re.IGNORECASE)
DATE = re.compile(r"^\d{4}年\d{1,2}月\d{1,2}日(\d{2}:\d{2})?$")
CJK = re.compile(r"[\u4e00-\u9fff]")
# What a row's params hold that must never reach a provider.
INTERNAL = {"True", "False", "None", "deadline_reminder", "monitoring_alert"}


def config(order=lambda names: names, **extra) -> dict:
    return {
        kind: {
            "aliyun": {"id": f"SMS_46500{i:04d}", "sign_name": "星海传媒", **extra},
            "tencent": {
                "id": str(2100000 + i),
                "sign_name": "星海传媒",
                "variables": order(t.names),
                **extra,
            },
        }
        for i, (kind, t) in enumerate(SMS_TEMPLATES.items())
    }


def reverse_order(names):
    return list(reversed(names))


@pytest.fixture
def rows_of_every_kind(world_a, settings):
    """Every kind of message, stored by the product's own flows, still pending (sealed secrets intact)."""
    settings.LANGUAGE_CODE = "zh-hans"  # the agency's language: the site's (no language of its own)
    settings.SMS_TEMPLATES = config(reverse_order)
    agency = world_a.agency
    with scope(agency=agency):
        for n, user in enumerate(world_a.users.values()):
            user.mobile = f"+86139000000{n:02d}"
            user.save(update_fields=["mobile"])
            for kind in MEMBER_KINDS:  # every member wants everything by SMS too (notification settings)
                ChannelPreference.objects.create(
                    agency=agency, user=user, kind=kind, channels=["inapp", "email", "sms"]
                )
    operator, owner = world_a.user("operator"), world_a.user("owner")
    with time_machine.travel(START, tick=False):
        # Rejected, appealed, appeal decided.
        rejected = make_task(world_a, items=1, title="2030年春季矩阵清理（第二批次的长标题账号整理）")
        with scope(agency=agency):
            task_submit(agency=agency, task=rejected, actor=operator)
            approval_decide(
                agency=agency, task=rejected, actor=owner, decision="reject", comment="缺少结算证明"
            )
            appeal = appeal_file(agency=agency, task=rejected, actor=operator, reason="已补充结算证明")
            appeal_decide(
                agency=agency,
                appeal=Appeal.objects.get(pk=appeal.pk),
                actor=owner,
                uphold=True,
                comment="同意",
            )
        # Left past its SLA: reminded, then escalated.
        late = make_task(world_a, items=1, title="逾期任务")
        with scope(agency=agency):
            task_submit(agency=agency, task=late, actor=operator)
            due = ApprovalStage.objects.filter(round__task=late).order_by("position").first().due_at
            approval_sla_sweep(agency=agency, now=due + timedelta(minutes=5))
            approval_sla_sweep(agency=agency, now=due + timedelta(days=30))
        # Approved: signing links; one owner declines, the other signs (the tier is ready).
        signed = make_task(world_a, items=2, title="批量关停 A")
        with scope(agency=agency):
            task_submit(agency=agency, task=signed, actor=operator)
            approval_decide(agency=agency, task=signed, actor=owner, decision="approve")
            first, second = SignatureRequest.objects.filter(task=signed).order_by("pk")
            signature_code_send(req=first, channel="sms")
            signature_decline(
                req=SignatureRequest.objects.get(pk=first.pk),
                reason="还有未结算的广告分成",
                code=_pending_code(first),
                language="zh-hans",
            )
            signature_code_send(req=second, channel="sms")
            req = SignatureRequest.objects.get(pk=second.pk)
            signature_confirm(
                req=req,
                code=_pending_code(second),
                shown_sha256=content_sha256(req.content, "zh-hans"),
                language="zh-hans",
            )
        # A shut account: its deadlines' reminders, and a monitoring alert.
        account = SubAccountFactory(
            agency=agency, followers=10000, display_name="小鹿的日常生活记录与美食探店分享频道（官方账号）"
        )
        take_effect(agency, _bare_item(world_a, account), START)
    with time_machine.travel(START + timedelta(hours=2), tick=False):
        response = world_a.client("operator").post(
            f"/api/v1/agencies/{agency.slug}/metrics/",
            {
                "samples": [
                    {
                        "sub_account": account.pk,
                        "metric": "followers",
                        "value": 6000,
                        "measured_at": (START + timedelta(hours=1)).isoformat(),
                    }
                ]
            },
            format="json",
        )
        assert response.status_code == 201, response.content
    with scope(agency=agency):
        rows = list(OutboundMessage.objects.filter(channel="sms", status="pending"))
    assert {r.kind for r in rows} == set(SMS_TEMPLATES), "every kind of message has a real SMS row"
    return rows


def _bare_item(world, account):
    from tests.builders import only_item

    return only_item(make_task(world, [account], **BARE_TASK))


def _pending_code(req) -> str:
    """The code as the owner's phone receives it (read from the sealed row, as delivery does)."""
    with scopes_disabled():
        sealed = (
            OutboundMessage.objects.filter(kind="signing_code", ref=f"signature:{req.pk}")
            .order_by("-pk")
            .values_list("sealed", flat=True)
            .first()
        )
    return unseal(sealed)["code"]


def _deliver_all():
    """Deliver every stored row (reminders are due up to a year ahead), on a weekday morning."""
    totals = messages_deliver_due(now=at(2031, 6, 2, 10, 0), batch_size=10000)
    assert totals["failed"] == 0, totals
    return totals


def _check_values(kind: str, values: list[str], row) -> None:
    declared = SMS_TEMPLATES[kind]
    for variable, value in zip(declared.variables, values, strict=True):
        where = f"{kind}.{variable.name}={value!r}"
        assert value, f"{where}: empty"
        assert len(value) <= 35, f"{where}: over Aliyun's 35 characters"
        assert not LINKISH.search(value), f"{where}: looks like a link"
        assert value not in INTERNAL and value != kind, f"{where}: an internal value"
        assert value != str(row.params.get("path", "-")), where
        if variable.name in ("date", "due"):
            assert DATE.match(value), f"{where}: not a date as people read it"
        if variable.name in ("item", "problem", "outcome"):
            assert CJK.search(value), f"{where}: not in Chinese"
        if variable.name == "token":
            assert len(value) == 20 and set(value) <= set(SHORT_TOKEN_ALPHABET)


def test_a_short_token_carries_at_least_96_bits():
    assert SHORT_TOKEN_BITS >= 96
    assert round(SHORT_TOKEN_BITS) == 100


def test_aliyun_requests_from_real_rows_of_every_kind(rows_of_every_kind, settings):
    from alibabacloud_dysmsapi20170525.client import Client

    settings.SMS_BACKEND = "notifications.sms.backends.aliyun.SmsBackend"
    settings.ALIYUN_SMS_ACCESS_KEY_ID, settings.ALIYUN_SMS_ACCESS_KEY_SECRET = "id", "secret"
    sent = []

    def send_sms_with_options(self, request, runtime):
        sent.append(request)
        return mock.Mock(body=mock.Mock(code="OK", biz_id=f"biz-{len(sent)}", message="OK"))

    with mock.patch.object(Client, "send_sms_with_options", send_sms_with_options):
        _deliver_all()
    rows = {r.idempotency_key: r for r in rows_of_every_kind}
    assert len(sent) == len(rows)
    kinds = set()
    for request in sent:
        row = rows[request.out_id]
        kinds.add(row.kind)
        assert request.template_code == settings.SMS_TEMPLATES[row.kind]["aliyun"]["id"]
        assert request.sign_name == "星海传媒"
        assert request.phone_numbers.isdigit() and len(request.phone_numbers) == 11
        values = json.loads(request.template_param)
        assert list(values) == SMS_TEMPLATES[row.kind].names, row.kind  # exactly the template's keys
        _check_values(row.kind, list(values.values()), row)
    assert kinds == set(SMS_TEMPLATES)


def test_tencent_requests_from_real_rows_of_every_kind(rows_of_every_kind, settings):
    from tencentcloud.sms.v20210111 import models
    from tencentcloud.sms.v20210111.sms_client import SmsClient

    settings.SMS_BACKEND = "notifications.sms.backends.tencent.SmsBackend"
    settings.TENCENT_SMS_SECRET_ID, settings.TENCENT_SMS_SECRET_KEY = "id", "key"
    settings.TENCENT_SMS_SDK_APP_ID = "1400000000"
    sent = []

    def send(self, request):
        sent.append(request)
        status = models.SendStatus()
        status.Code, status.SerialNo = "Ok", f"serial-{len(sent)}"
        return mock.Mock(SendStatusSet=[status])

    with mock.patch.object(SmsClient, "SendSms", send):
        _deliver_all()
    rows = {r.idempotency_key: r for r in rows_of_every_kind}
    assert len(sent) == len(rows)
    by_kind = {}
    for request in sent:
        row = rows[request.SessionContext]
        configured = settings.SMS_TEMPLATES[row.kind]["tencent"]
        assert request.TemplateId == configured["id"]
        assert request.SignName == "星海传媒" and request.SmsSdkAppId == "1400000000"
        assert request.PhoneNumberSet[0].startswith("+86")
        # Exactly the template's variables, in the template's order (configured reversed here).
        assert len(request.TemplateParamSet) == len(SMS_TEMPLATES[row.kind].variables)
        values = dict(zip(configured["variables"], request.TemplateParamSet, strict=True))
        _check_values(row.kind, [values[name] for name in SMS_TEMPLATES[row.kind].names], row)
        by_kind[row.kind] = values
    assert set(by_kind) == set(SMS_TEMPLATES)
    reminder = by_kind["reminder"]
    assert reminder["account"].endswith("…") and len(reminder["account"]) == 20  # a long name is shortened
    assert reminder["days"].isdigit()
    assert by_kind["alert"]["problem"] == "粉丝下降"
    assert by_kind["approval_appeal_decided"]["outcome"] == "已支持"


def test_the_token_of_a_signing_sms_opens_the_signing_page_and_a_wrong_one_is_404(
    rows_of_every_kind, settings
):
    row = next(r for r in rows_of_every_kind if r.kind == "signing_link")
    token = unseal(row.sealed)["token"]
    response = Client().get(f"/s/{token}")
    assert response.status_code == 302 and response["Location"].startswith("/sign/s/")
    assert token not in response["Location"]
    wrong = Client().get("/s/" + "a" * 20)
    assert wrong.status_code == 404
    body = wrong.content.decode()
    for secret in ("机构 alpha-mcn", "批量关停 A", row.recipient_address, token):
        assert secret not in body


def test_a_kind_without_a_template_fails_with_a_message_never_another_template(rows_of_every_kind, settings):
    settings.SMS_BACKEND = "notifications.sms.backends.tencent.SmsBackend"
    templates = config()
    del templates["reminder"]["tencent"]
    settings.SMS_TEMPLATES = templates
    from tencentcloud.sms.v20210111.sms_client import SmsClient

    with mock.patch.object(SmsClient, "SendSms") as send:
        messages_deliver_due(now=at(2031, 6, 2, 10, 0), batch_size=10000)
    assert all(call.args[0].TemplateId != "deadline_reminder" for call in send.call_args_list)
    with scopes_disabled():
        failed = OutboundMessage.objects.filter(channel="sms", kind="reminder")
        assert {m.status for m in failed} == {"failed"}
        assert "SMS_TEMPLATES['reminder']['tencent']" in failed.first().last_error
