"""Group robots (DingTalk, WeCom, Feishu): each platform's request body and signature, checked
against a stubbed HTTP transport (`responses`: no network), sent through the outbox once and
retried; the webhook address and secret never shown or stored readable."""

import base64
import hashlib
import hmac
import json
import logging
from urllib.parse import parse_qs, unquote_plus, urlsplit

import pytest
import responses
from django_scopes import scope

from agency.exceptions import DomainValidationError
from approvals.services.decisions import approval_decide, task_submit
from notifications.models import OutboundMessage, RobotWebhook
from notifications.robots import robot_request, robot_webhook_save, robots_notify
from notifications.services.delivery import messages_deliver_due
from tests.builders import make_task

from ..approvals.helpers import api

pytestmark = pytest.mark.django_db

DING = "https://oapi.dingtalk.com/robot/send?access_token=ding0123456789abcdef"
DING_SECRET = "SECd3adb33fd3adb33fd3adb33f"
WECOM = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
FEISHU = "https://open.feishu.cn/open-apis/bot/v2/hook/0a1b2c3d-feishu-hook-token"
FEISHU_SECRET = "feishuSigningSecret42"


def _robot(world, platform, url, secret="", events=("approval_waiting", "approval_decided"), name=None):
    with scope(agency=world.agency):
        return robot_webhook_save(
            agency=world.agency,
            name=name or f"{platform} 群",
            platform=platform,
            url=url,
            secret=secret,
            events=list(events),
            actor=world.user("owner"),
        )


def _submit(world):
    task = make_task(world, items=2)
    with scope(agency=world.agency):
        task_submit(agency=world.agency, task=task, actor=world.user("operator"))
    return task


def test_dingtalk_signature_is_hmac_of_timestamp_and_secret_in_the_query():
    now = 1700000000.123
    req = robot_request(
        platform="dingtalk",
        url=DING,
        secret=DING_SECRET,
        title="待审批：清理矩阵",
        rows=[("层级", "机构负责人")],
        link="https://mcn.example.com/a/x/",
        now=now,
    )
    query = parse_qs(urlsplit(req.url).query)
    assert query["access_token"] == ["ding0123456789abcdef"]
    assert query["timestamp"] == ["1700000000123"]
    expected = base64.b64encode(
        hmac.new(DING_SECRET.encode(), f"1700000000123\n{DING_SECRET}".encode(), hashlib.sha256).digest()
    ).decode()
    assert query["sign"] == [expected]
    # The sign is URL-encoded in the address (base64 has + / =).
    raw_sign = req.url.split("sign=")[1]
    assert unquote_plus(raw_sign) == expected
    assert req.body["msgtype"] == "markdown"
    assert req.body["markdown"]["title"] == "待审批：清理矩阵"
    assert "**层级**: 机构负责人" in req.body["markdown"]["text"]
    assert "(https://mcn.example.com/a/x/)" in req.body["markdown"]["text"]


def test_feishu_signature_uses_timestamp_and_secret_as_the_key_over_an_empty_message():
    req = robot_request(
        platform="feishu",
        url=FEISHU,
        secret=FEISHU_SECRET,
        title="已批准：清理矩阵",
        rows=[("审批人", "王五")],
        link="https://mcn.example.com/a/x/",
        now=1700000000.9,
    )
    assert req.url == FEISHU
    assert req.body["timestamp"] == "1700000000"
    key = f"1700000000\n{FEISHU_SECRET}".encode()
    assert req.body["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    card = req.body["card"]
    assert req.body["msg_type"] == "interactive"
    assert card["header"]["title"]["content"] == "已批准：清理矩阵"
    assert card["elements"][0] == {"tag": "markdown", "content": "**审批人**: 王五"}
    assert card["elements"][1]["actions"][0]["url"] == "https://mcn.example.com/a/x/"


def test_wecom_has_no_signature_and_a_markdown_content():
    req = robot_request(
        platform="wecom",
        url=WECOM,
        secret="",
        title="告警：粉丝下降",
        rows=[("账号", "小A")],
        link="https://mcn.example.com/a/x/",
    )
    assert req.url == WECOM
    assert set(req.body) == {"msgtype", "markdown"}
    content = req.body["markdown"]["content"]
    assert content.startswith("**告警：粉丝下降**\n") and "小A" in content
    assert "[" in content and "(https://mcn.example.com/a/x/)" in content


def test_addresses_must_be_the_platforms_and_wecom_takes_no_secret(world_a):
    for platform, url, secret, field in (
        ("dingtalk", "https://evil.example.com/robot/send?access_token=x", "", "url"),
        ("wecom", WECOM, "SECx", "secret"),
        ("dingtalk", DING, "notsec", "secret"),
        ("feishu", "http://open.feishu.cn/open-apis/bot/v2/hook/x", "", "url"),
    ):
        with scope(agency=world_a.agency), pytest.raises(DomainValidationError) as exc:
            robot_webhook_save(
                agency=world_a.agency,
                name="x",
                platform=platform,
                url=url,
                secret=secret,
                events=["alert_raised"],
            )
        assert field in exc.value.details


@responses.activate
def test_an_approval_reaches_every_platform_once_through_the_outbox(world_a, settings, caplog):
    settings.SITE_URL = "https://mcn.example.com"
    for platform, url, secret in (
        ("dingtalk", DING, DING_SECRET),
        ("wecom", WECOM, ""),
        ("feishu", FEISHU, FEISHU_SECRET),
    ):
        _robot(world_a, platform, url, secret)
    responses.add(responses.POST, DING.split("?")[0], json={"errcode": 0, "errmsg": "ok"})
    responses.add(responses.POST, WECOM.split("?")[0], json={"errcode": 0, "errmsg": "ok"})
    responses.add(responses.POST, FEISHU, json={"code": 0, "msg": "success"})
    caplog.set_level(logging.DEBUG)
    task = _submit(world_a)
    with scope(agency=world_a.agency):
        robot_messages = OutboundMessage.objects.filter(channel="robot")
        assert sorted(m.kind for m in robot_messages) == ["robot_approval_waiting"] * 3
    messages_deliver_due()
    messages_deliver_due()  # a second sweep sends nothing again
    assert len(responses.calls) == 3
    bodies = {urlsplit(c.request.url).hostname: json.loads(c.request.body) for c in responses.calls}
    link = f"https://mcn.example.com/a/{world_a.agency.slug}/approvals/tasks/{task.pk}/approval/"
    assert link in bodies["oapi.dingtalk.com"]["markdown"]["text"]
    assert link in bodies["qyapi.weixin.qq.com"]["markdown"]["content"]
    assert bodies["open.feishu.cn"]["card"]["elements"][1]["actions"][0]["url"] == link
    assert "sign" in bodies["open.feishu.cn"]
    with scope(agency=world_a.agency):
        assert set(OutboundMessage.objects.filter(channel="robot").values_list("status", flat=True)) == {
            "sent"
        }
    # Secrets never in a log line.
    for secret in (DING_SECRET, FEISHU_SECRET, "ding0123456789abcdef", "693a91f6-7xxx", "feishu-hook-token"):
        assert secret not in caplog.text


@responses.activate
def test_a_failing_robot_is_retried_and_its_error_never_holds_the_address(world_a, settings):
    settings.NOTIFY_RETRY_BASE_SECONDS = 0
    _robot(world_a, "dingtalk", DING, DING_SECRET)
    responses.add(responses.POST, DING.split("?")[0], body=ConnectionError(f"cannot reach {DING}"))
    _submit(world_a)
    messages_deliver_due()
    with scope(agency=world_a.agency):
        message = OutboundMessage.objects.get(channel="robot")
    assert message.status == "pending" and message.attempts == 1
    assert "ding0123456789abcdef" not in message.last_error and "[redacted]" in message.last_error
    responses.replace(responses.POST, DING.split("?")[0], json={"errcode": 0, "errmsg": "ok"})
    messages_deliver_due()
    with scope(agency=world_a.agency):
        message.refresh_from_db()
    assert message.status == "sent" and message.attempts == 2


@responses.activate
def test_a_wrong_signature_fails_for_good_and_shows_in_the_failed_list(world_a):
    _robot(world_a, "dingtalk", DING, DING_SECRET)
    responses.add(responses.POST, DING.split("?")[0], json={"errcode": 310000, "errmsg": "sign not match"})
    _submit(world_a)
    messages_deliver_due()
    with scope(agency=world_a.agency):
        message = OutboundMessage.objects.get(channel="robot")
    assert message.status == "failed" and "310000" in message.last_error
    page = world_a.client("owner").get(f"/a/{world_a.agency.slug}/notifications/failed/").content.decode()
    assert "DingTalk" in page or "钉钉" in page


def test_only_robots_that_chose_the_event_hear_it(world_a):
    _robot(world_a, "wecom", WECOM, events=["alert_raised"], name="告警群")
    _robot(world_a, "feishu", FEISHU, events=["approval_decided"], name="审批群")
    task = _submit(world_a)
    with scope(agency=world_a.agency):
        assert not OutboundMessage.objects.filter(channel="robot").exists()
        approval_decide(
            agency=world_a.agency,
            task=task,
            actor=world_a.user("owner"),
            decision="reject",
            comment="材料不全",
        )
        [message] = OutboundMessage.objects.filter(channel="robot")
    assert message.kind == "robot_approval_decided"
    assert message.params["decision"] == "rejected" and message.params["reason"] == "材料不全"
    assert message.recipient_address.endswith("审批群")
    with scope(agency=world_a.agency):  # the same cause never twice
        assert robots_notify(agency=world_a.agency, event="approval_decided", key="k", params={}) == 1
        assert robots_notify(agency=world_a.agency, event="approval_decided", key="k", params={}) == 0


def test_the_robots_page_masks_the_address_and_the_secret(world_a, world_b):
    client = world_a.client("owner")
    url = f"/a/{world_a.agency.slug}/notifications/robots/"
    response = client.post(
        url,
        {
            "name": "运营群",
            "platform": "dingtalk",
            "url": DING,
            "secret": DING_SECRET,
            "events": ["approval_waiting", "alert_raised"],
            "is_active": "on",
        },
        follow=True,
    )
    html = response.content.decode()
    assert "运营群" in html and "oapi.dingtalk.com/…cdef" in html
    assert "ding0123456789abcdef" not in html and DING_SECRET not in html
    with scope(agency=world_a.agency):
        robot = RobotWebhook.objects.get()
    assert DING_SECRET not in robot.sealed and "ding0123456789abcdef" not in robot.sealed
    # Changing the events with empty address and secret keeps both.
    client.post(
        url,
        {
            "robot": robot.pk,
            "name": "运营群",
            "platform": "dingtalk",
            "url": "",
            "secret": "",
            "events": ["tier_executed"],
            "is_active": "on",
        },
    )
    with scope(agency=world_a.agency):
        robot.refresh_from_db()
    assert robot.events == ["tier_executed"] and robot.has_secret
    # A bad address: a clear message naming the field, nothing saved.
    response = client.post(
        url,
        {"name": "坏的", "platform": "feishu", "url": "https://example.com/hook", "events": ["alert_raised"]},
    )
    assert response.status_code == 400 and "open.feishu.cn" in response.content.decode()
    # Operators cannot manage robots; another agency cannot see or remove them.
    assert world_a.client("operator").get(url).status_code == 403
    other = f"/a/{world_b.agency.slug}/notifications/robots/{robot.pk}/delete/"
    assert world_b.client("owner").post(other).status_code == 404
    with scope(agency=world_a.agency):
        assert RobotWebhook.objects.filter(pk=robot.pk).exists()


def test_the_api_never_returns_the_address_or_the_secret(world_a, world_b):
    client = world_a.client("owner")
    path = api(world_a, "group-robots/")
    response = client.post(
        path,
        {
            "name": "飞书群",
            "platform": "feishu",
            "url": FEISHU,
            "secret": FEISHU_SECRET,
            "events": ["deadline_1d"],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert "url" not in body and "secret" not in body and body["has_secret"] is True
    assert FEISHU_SECRET not in json.dumps(client.get(path).json())
    assert "feishu-hook-token" not in json.dumps(client.get(path).json())
    bad = client.post(
        path, {"name": "x", "platform": "wecom", "url": "https://x.example/", "events": []}, format="json"
    )
    assert bad.status_code == 400
    assert world_b.client("owner").get(api(world_a, "group-robots/")).status_code == 404
    assert world_a.client("operator").get(path).status_code == 403
    assert client.delete(f"{path}{body['id']}/").status_code == 204


def test_signatures_complete_tier_executed_alerts_and_deadlines_reach_the_robots(world_a, settings):
    from datetime import timedelta

    from django.utils import timezone

    from deadlines.models import Deadline
    from deadlines.robots import deadlines_due_soon_to_robots
    from deadlines.services.monitoring import alert_raise
    from shutdown.events import event_record
    from shutdown.models import EventKind, Tier
    from tests.factories import SubAccountFactory

    _robot(
        world_a,
        "feishu",
        FEISHU,
        FEISHU_SECRET,
        name="执行群",
        events=["signatures_complete", "tier_executed", "alert_raised", "deadline_1d"],
    )
    task = make_task(world_a, items=1)
    account = SubAccountFactory(agency=world_a.agency, display_name="小号A")
    with scope(agency=world_a.agency):
        tier = Tier.objects.get(task=task)
        event_record(
            agency=world_a.agency,
            task=task,
            kind=EventKind.SIGNATURES_TIER_READY,
            actor_label="system",
            data={"tier": tier.pk, "signed": 1},
        )
        event_record(
            agency=world_a.agency,
            task=task,
            kind=EventKind.TIER_COMPLETE,
            actor=world_a.user("operator"),
            data={"tier": tier.pk},
        )
        alert_raise(
            agency=world_a.agency, sub_account_id=account.pk, rule="follower_drop", data={"drop": 0.4}
        )
        now = timezone.now()
        Deadline.objects.create(
            agency=world_a.agency,
            sub_account=account,
            task=task,
            kind="drafts_expire",
            rule="R2.1",
            label="草稿保留到期",
            effective_at=now - timedelta(days=30),
            due_at=now + timedelta(hours=20),
        )
        Deadline.objects.create(
            agency=world_a.agency,
            sub_account=account,
            task=task,
            kind="fan_profile",
            rule="R2.4",
            label="粉丝画像到期",
            effective_at=now,
            due_at=now + timedelta(days=5),
        )
    assert deadlines_due_soon_to_robots() == 1
    assert deadlines_due_soon_to_robots() == 0  # told once
    with scope(agency=world_a.agency):
        kinds = sorted(OutboundMessage.objects.filter(channel="robot").values_list("kind", flat=True))
        deadline_msg = OutboundMessage.objects.get(kind="robot_deadline_1d")
    assert kinds == [
        "robot_alert_raised",
        "robot_deadline_1d",
        "robot_signatures_complete",
        "robot_tier_executed",
    ]
    assert deadline_msg.params["deadline"] == "草稿保留到期" and deadline_msg.params["account"] == "小号A"


def test_the_card_is_written_in_chinese_with_an_absolute_link(settings):
    from django.utils import translation

    from notifications.robots import card_text

    settings.SITE_URL = "https://mcn.example.com"
    with translation.override("zh-hans"):
        title, rows, link = card_text(
            {
                "event": "approval_decided",
                "decision": "rejected",
                "task": "清理矩阵",
                "by": "王五",
                "reason": "材料不全",
                "link": "/a/x/approvals/tasks/1/approval/",
            }
        )
    assert title == "已驳回：清理矩阵"
    assert ("原因", "材料不全") in rows
    assert link == "https://mcn.example.com/a/x/approvals/tasks/1/approval/"


def test_the_http_library_never_logs_a_robot_address(caplog):
    import notifications.robots  # noqa: F401 - installs the filter

    caplog.set_level(logging.DEBUG, logger="urllib3.connectionpool")
    log = logging.getLogger("urllib3.connectionpool")
    log.debug(
        '%s://%s:%s "%s %s %s" %s %s',
        "https",
        "oapi.dingtalk.com",
        443,
        "POST",
        "/robot/send?access_token=ding0123456789abcdef",
        "HTTP/1.1",
        200,
        30,
    )
    log.debug("Starting new HTTPS connection (1): %s:%s", "example.com", 443)
    assert "ding0123456789abcdef" not in caplog.text
    assert "example.com" in caplog.text  # other lines are kept


@responses.activate
def test_a_test_message_checks_the_address_and_secret(world_a):
    robot = _robot(world_a, "dingtalk", DING, DING_SECRET, events=["alert_raised"])
    responses.add(responses.POST, DING.split("?")[0], json={"errcode": 0, "errmsg": "ok"})
    response = world_a.client("owner").post(
        f"/a/{world_a.agency.slug}/notifications/robots/{robot.pk}/test/",
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert "A test message is on its way" in response.content.decode()
    messages_deliver_due()
    [call] = responses.calls
    body = json.loads(call.request.body)
    assert body["markdown"]["title"].startswith("Test message from") or "测试" in body["markdown"]["title"]
    assert "sign=" in call.request.url
    with scope(agency=world_a.agency):
        assert OutboundMessage.objects.get(kind="robot_test").status == "sent"


def test_a_reminder_rule_cannot_choose_the_robot_channel(world_a):
    from deadlines.services.rules import reminder_rule_save

    with scope(agency=world_a.agency), pytest.raises(DomainValidationError) as exc:
        reminder_rule_save(
            agency=world_a.agency,
            deadline_kind="drafts_expire",
            days_before=1,
            channels=["robot"],
            recipient_roles=["owner"],
        )
    assert "channels" in (exc.value.details or {})
    response = world_a.client("owner").get(f"/a/{world_a.agency.slug}/deadlines/reminder-rules/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'value="sms"' in page and 'value="robot"' not in page
