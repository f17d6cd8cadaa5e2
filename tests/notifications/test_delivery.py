"""Delivery: once and only once, quiet hours, retries with backoff, failed page, backends."""

from datetime import timedelta
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from notifications.models import OutboundMessage
from notifications.services.delivery import messages_deliver_due
from notifications.services.enqueue import message_enqueue
from notifications.sms import SmsMessage

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def enqueue(world, channel="email", key="k1", user_role="owner", **kw):
    with scope(agency=world.agency):
        return message_enqueue(agency=world.agency, channel=channel, kind="reminder", template_code="deadline_reminder",
                               idempotency_key=key, recipient_user=world.user(user_role),
                               params={"account": "小鹿", "platform": "抖音", "label": "Fan profile basic data available until",
                                       "rule": "R2.4", "days_before": 1, "due_date": "2030-01-02 10:00",
                                       "path": "/x/"},
                               language="en", **kw)[0]


def test_a_due_email_is_sent_once_however_often_the_sweep_runs(world_a):
    message = enqueue(world_a)
    messages_deliver_due()
    messages_deliver_due()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [world_a.user("owner").email]
    assert "Fan profile basic data available until" in mail.outbox[0].body
    assert mail.outbox[0].extra_headers["X-Idempotency-Key"] == "k1"
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 1)


def test_the_same_key_is_stored_once(world_a):
    first = enqueue(world_a, key="same")
    second = enqueue(world_a, key="same")
    assert first.pk == second.pk
    with scopes_disabled():
        assert OutboundMessage.objects.count() == 1


def test_chinese_text_in_the_message_language(world_a):
    with scope(agency=world_a.agency):
        message_enqueue(agency=world_a.agency, channel="email", kind="reminder", template_code="deadline_reminder",
                        idempotency_key="zh", recipient_user=world_a.user("owner"), language="zh-hans",
                        params={"account": "小鹿", "platform": "抖音", "label": "Drafts", "rule": "R2.1",
                                "days_before": 0, "due_date": "2030-01-02", "path": "/"})
    messages_deliver_due()
    assert "小鹿" in mail.outbox[0].body


def test_future_messages_wait_and_publish_nothing(world_a, django_capture_on_commit_callbacks):
    """Scheduled rows never become broker messages: a worker's memory does not grow with them."""
    with mock.patch("notifications.tasks.deliver.apply_async") as publish:
        with django_capture_on_commit_callbacks(execute=True):
            for i in range(50):
                enqueue(world_a, key=f"future-{i}", send_after=timezone.now() + timedelta(days=3))
        assert publish.call_count == 0
        with django_capture_on_commit_callbacks(execute=True):
            enqueue(world_a, key="now")
        assert publish.call_count == 1
    assert messages_deliver_due()["sent"] == 1


def test_due_message_is_delivered_right_after_commit(world_a, eager_celery, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = enqueue(world_a)
    assert len(mail.outbox) == 1
    message.refresh_from_db()
    assert message.status == "sent"


def test_a_broker_outage_loses_nothing(world_a, django_capture_on_commit_callbacks):
    with mock.patch("notifications.tasks.deliver.apply_async", side_effect=ConnectionError("redis down")):
        with django_capture_on_commit_callbacks(execute=True):
            enqueue(world_a)
    assert len(mail.outbox) == 0
    messages_deliver_due()
    assert len(mail.outbox) == 1


def test_sms_waits_for_the_morning_in_the_agency_time_zone(world_a, _sms_locmem):
    with time_machine.travel(timezone.datetime(2030, 1, 2, 23, 30, tzinfo=SH), tick=False):
        with scope(agency=world_a.agency):
            message, _ = message_enqueue(agency=world_a.agency, channel="sms", kind="reminder",
                                         template_code="deadline_reminder", idempotency_key="night",
                                         recipient_address="+8613800138000",
                                         params={"account": "a", "platform": "p", "label": "l", "rule": "r",
                                                 "days_before": 1, "due_date": "d", "path": "/"})
        assert message.send_after.astimezone(SH).isoformat() == "2030-01-03T08:00:00+08:00"
        messages_deliver_due()
        assert _sms_locmem == []
    with time_machine.travel(timezone.datetime(2030, 1, 3, 8, 1, tzinfo=SH), tick=False):
        messages_deliver_due()
    assert [m.to for m in _sms_locmem] == ["+8613800138000"]
    assert _sms_locmem[0].idempotency_key == "night"
    assert _sms_locmem[0].kind == "reminder"


def test_an_sms_already_queued_before_22h_is_held_when_the_sweep_runs_at_night(world_a, _sms_locmem):
    with time_machine.travel(timezone.datetime(2030, 1, 2, 21, 0, tzinfo=SH), tick=False):
        with scope(agency=world_a.agency):
            message_enqueue(agency=world_a.agency, channel="sms", kind="x", template_code="deadline_reminder",
                            idempotency_key="late", recipient_address="+8613800138000", body="hi")
    with time_machine.travel(timezone.datetime(2030, 1, 2, 22, 30, tzinfo=SH), tick=False):
        assert messages_deliver_due()["postponed"] == 1
    assert _sms_locmem == []


def test_failures_are_retried_with_backoff_then_marked_failed(world_a, settings):
    settings.NOTIFY_MAX_ATTEMPTS = 3
    message = enqueue(world_a)
    start = timezone.now()
    with mock.patch("django.core.mail.backends.locmem.EmailBackend.send_messages", side_effect=OSError("smtp down")):
        with time_machine.travel(start, tick=False):
            messages_deliver_due()
        message.refresh_from_db()
        assert message.status == "pending"
        assert message.send_after == start + timedelta(seconds=60)
        with time_machine.travel(start + timedelta(seconds=61), tick=False):
            messages_deliver_due()
        message.refresh_from_db()
        assert message.send_after == start + timedelta(seconds=61 + 120)
        with time_machine.travel(start + timedelta(seconds=200), tick=False):
            messages_deliver_due()
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", 3)
    assert "smtp down" in message.last_error
    page = world_a.client("auditor").get(f"/a/{world_a.agency.slug}/notifications/failed/")
    assert "smtp down" in page.content.decode()
    action = f"/a/{world_a.agency.slug}/notifications/messages/{message.pk}/"
    assert world_a.client("operator").post(action, {"action": "retry"}).status_code == 403
    assert world_a.client("admin").post(action, {"action": "retry"}).status_code == 302
    messages_deliver_due()
    assert len(mail.outbox) == 1


@time_machine.travel(timezone.datetime(2030, 1, 2, 12, 0, tzinfo=SH), tick=False)
def test_a_recipient_without_address_fails_at_once(world_a):
    enqueue(world_a, channel="sms")  # the owner user has no mobile
    messages_deliver_due()
    with scopes_disabled():
        message = OutboundMessage.objects.get()
    assert message.status == "failed"
    assert "no address" in message.last_error


def test_in_app_notifications_page_and_read(world_a, world_b):
    enqueue(world_a, channel="inapp", user_role="legal")
    messages_deliver_due()
    client = world_a.client("legal")
    page = client.get(f"/a/{world_a.agency.slug}/notifications/")
    assert "小鹿" in page.content.decode()
    api = f"/api/v1/agencies/{world_a.agency.slug}/inbox/"
    body = client.get(api + "?unread=true").json()
    assert body["count"] == 1
    assert client.post(f"{api}{body['results'][0]['id']}/read/").json() == {"marked": 1}
    assert client.get(api + "?unread=true").json()["count"] == 0
    assert world_a.client("owner").get(api).json()["count"] == 0  # someone else's notifications
    assert world_b.client("owner").get(api).status_code == 404


def test_outbox_api_and_page_queries_stay_flat(world_a, world_b, django_assert_max_num_queries):
    url = f"/api/v1/agencies/{world_a.agency.slug}/outbox/"
    client = world_a.client("auditor")
    enqueue(world_a, key="a0")
    with django_assert_max_num_queries(8) as small:
        client.get(url)
    for i in range(40):
        enqueue(world_a, key=f"a{i + 1}", user_role=["owner", "admin", "legal"][i % 3])
    with django_assert_max_num_queries(len(small.captured_queries)):
        body = client.get(url).json()
    assert body["count"] == 41
    page_url = f"/a/{world_a.agency.slug}/notifications/outbox/"
    with django_assert_max_num_queries(30):
        assert client.get(page_url + "?channel=email&sort=send").status_code == 200
    assert world_b.client("owner").get(url).status_code == 404
    message_id = body["results"][0]["id"]
    assert client.post(f"{url}{message_id}/cancel/").status_code == 403
    assert world_b.client("owner").post(
        f"/api/v1/agencies/{world_b.agency.slug}/outbox/{message_id}/cancel/").status_code == 404
    assert world_a.client("owner").post(f"{url}{message_id}/cancel/").json()["status"] == "cancelled"
    assert world_a.client("owner").post(f"{url}{message_id}/retry/").status_code == 409


# --- SMS providers, tested by the request they build -----------------------------------------------------
def sms():
    return SmsMessage(to="+8613800138000", kind="reminder",
                      variables={"account": "小鹿", "item": "草稿到期", "date": "2026年12月31日", "days": "1"},
                      text="...", idempotency_key="rem:1:2:sms:owner")


def test_aliyun_request(settings):
    from notifications.sms.backends.aliyun import SmsBackend

    settings.SMS_TEMPLATES = '{"reminder": {"aliyun": {"id": "SMS_465000001"}}}'
    client = mock.Mock()
    client.send_sms_with_options.return_value = mock.Mock(body=mock.Mock(code="OK", biz_id="biz-1", message="OK"))
    result = SmsBackend(client=client).send([sms()])
    request = client.send_sms_with_options.call_args.args[0]
    assert (request.phone_numbers, request.template_code, request.sign_name) == (
        "13800138000", "SMS_465000001", "MCN关停助手")
    assert request.template_param == '{"account": "小鹿", "item": "草稿到期", "date": "2026年12月31日", "days": "1"}'
    assert request.out_id == "rem:1:2:sms:owner"
    assert result[0].ok
    assert result[0].provider_message_id == "biz-1"
    client.send_sms_with_options.return_value = mock.Mock(body=mock.Mock(code="isv.BUSINESS_LIMIT_CONTROL",
                                                                         message="limit"))
    assert SmsBackend(client=client).send([sms()])[0].error.startswith("aliyun isv.BUSINESS_LIMIT_CONTROL")


def test_tencent_request(settings):
    from tencentcloud.sms.v20210111 import models

    from notifications.sms.backends.tencent import SmsBackend

    settings.SMS_TEMPLATES = {"reminder": {"tencent": {"id": "1234567", "sign_name": "星海传媒",
                                                       "variables": ["days", "account", "date", "item"]}}}
    settings.TENCENT_SMS_SDK_APP_ID = "1400000000"
    client = mock.Mock()
    status = models.SendStatus()
    status.Code, status.SerialNo = "Ok", "serial-1"
    client.SendSms.return_value = mock.Mock(SendStatusSet=[status])
    result = SmsBackend(client=client).send([sms()])
    request = client.SendSms.call_args.args[0]
    assert request.TemplateId == "1234567"
    assert request.TemplateParamSet == ["1", "小鹿", "2026年12月31日", "草稿到期"]
    assert request.SignName == "星海传媒"
    assert request.PhoneNumberSet == ["+8613800138000"]
    assert request.SmsSdkAppId == "1400000000"
    assert request.SessionContext == "rem:1:2:sms:owner"
    assert result[0].ok
    assert result[0].provider_message_id == "serial-1"
    client.SendSms.side_effect = RuntimeError("network")
    assert not SmsBackend(client=client).send([sms()])[0].ok


def test_file_backend_writes_once_per_key(tmp_path):
    from notifications.sms.backends.file import SmsBackend

    backend = SmsBackend(file_path=str(tmp_path))
    backend.send([sms()])
    backend.send([sms()])
    assert len(list(tmp_path.iterdir())) == 1


def test_console_backend_prints_the_text(capsys):
    from notifications.sms.backends.console import SmsBackend

    SmsBackend().send([sms()])
    assert "+8613800138000" in capsys.readouterr().out
