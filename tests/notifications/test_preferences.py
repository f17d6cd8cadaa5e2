"""A member chooses, per kind of message, email / SMS / in-app, within what the agency allows."""

import pytest
import time_machine
from django.test import Client
from django_scopes import scope

from approvals.services.decisions import task_submit
from notifications.models import MEMBER_KINDS, ChannelPreference, OutboundMessage
from notifications.services.preferences import allowed_channels, preferences_save
from tests.builders import make_task
from tests.deadlines.helpers import BARE_TASK, at, take_effect
from tests.factories import SubAccountFactory

pytestmark = pytest.mark.django_db


def url(world) -> str:
    return f"/a/{world.agency.slug}/notifications/settings/"


def zh_client(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    return client


def everything(**overrides) -> dict:
    return {kind: overrides.get(kind, ["inapp", "email"]) for kind in MEMBER_KINDS}


def test_the_page_lists_every_kind_in_words_and_saves_the_choice(world_a, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    client = zh_client(world_a.user("operator"))
    page = client.get(url(world_a)).content.decode()
    assert "通知设置" in page and "审批请求" in page and "截止日期提醒" in page
    assert "Approval request" not in page
    response = client.post(url(world_a), everything(approval_request=["inapp"], task_rejected=["email"]))
    assert response.status_code == 302
    with scope(agency=world_a.agency):
        stored = dict(
            ChannelPreference.objects.filter(user=world_a.user("operator")).values_list("kind", "channels")
        )
    assert stored["approval_request"] == ["inapp"] and stored["task_rejected"] == ["email"]
    again = client.get(url(world_a)).content.decode()
    assert 'name="approval_request" value="email"' in again
    assert 'name="approval_request" value="email" checked' not in again


def test_the_page_costs_the_same_queries_with_or_without_choices(world_a):
    client = world_a.client("operator")
    client.get(url(world_a))  # warm the session and caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as before:
        client.get(url(world_a))
    client.post(url(world_a), everything(approval_request=["inapp"]))
    with CaptureQueriesContext(connection) as after:
        assert client.get(url(world_a)).status_code == 200
    assert len(after) == len(before) <= 12


def test_a_kind_left_without_any_channel_is_refused_and_nothing_is_saved(world_a):
    client = world_a.client("operator")
    response = client.post(url(world_a), everything(tier_ready=[]))
    assert response.status_code == 400
    assert "keep at least one way of being told" in response.content.decode()
    with scope(agency=world_a.agency):
        assert not ChannelPreference.objects.exists()


def test_sms_is_offered_only_where_a_template_is_configured(world_a, settings):
    settings.SMS_BACKEND = "notifications.sms.backends.aliyun.SmsBackend"
    settings.SMS_TEMPLATES = {"reminder": {"aliyun": {"id": "SMS_1"}}}
    assert "sms" in allowed_channels(agency=world_a.agency, kind="reminder")
    assert "sms" not in allowed_channels(agency=world_a.agency, kind="tier_ready")
    response = world_a.client("operator").post(url(world_a), everything(tier_ready=["sms"]))
    assert response.status_code == 400
    assert "does not send these by SMS" in response.content.decode()


def test_the_agency_rules_limit_the_choice(world_a):
    agency = world_a.agency
    agency.settings = {"notification_channels": {"approval_request": ["inapp"]}}
    agency.save(update_fields=["settings"])
    response = world_a.client("operator").post(url(world_a), everything(approval_request=["email"]))
    assert response.status_code == 400
    page = world_a.client("operator").get(url(world_a)).content.decode()
    assert 'name="approval_request" value="email" disabled' in page


def test_approval_messages_follow_the_members_choice(world_a):
    owner = world_a.user("owner")  # (the owner's pages need a second factor: the service stores the choice)
    with scope(agency=world_a.agency):
        preferences_save(agency=world_a.agency, user=owner, choices=everything(approval_request=["inapp"]))
    task = make_task(world_a, items=1)
    with scope(agency=world_a.agency):
        task_submit(agency=world_a.agency, task=task, actor=world_a.user("operator"))
        channels = set(
            OutboundMessage.objects.filter(kind="approval_request", recipient_user=owner).values_list(
                "channel", flat=True
            )
        )
    assert channels == {"inapp"}


@time_machine.travel(at(2030, 1, 2, 10), tick=False)
def test_a_member_may_leave_reminder_channels_out(world_a):
    admin = world_a.user("admin")
    with scope(agency=world_a.agency):
        preferences_save(agency=world_a.agency, user=admin, choices=everything(reminder=["inapp"]))
    account = SubAccountFactory(agency=world_a.agency)
    from tests.builders import only_item

    take_effect(world_a.agency, only_item(make_task(world_a, [account], **BARE_TASK)), at(2030, 1, 2, 10))
    with scope(agency=world_a.agency):
        mine = set(
            OutboundMessage.objects.filter(kind="reminder", recipient_user=admin).values_list(
                "channel", flat=True
            )
        )
        others = set(
            OutboundMessage.objects.filter(kind="reminder", recipient_user=world_a.user("owner")).values_list(
                "channel", flat=True
            )
        )
    assert mine == {"inapp"}
    assert {"email", "inapp"} <= others


def test_reminder_emails_link_to_the_settings_page(world_a, settings):
    from django.core import mail

    from notifications.services.delivery import messages_deliver_due

    settings.SITE_URL = "https://mcn.example.cn"
    with time_machine.travel(at(2030, 1, 2, 10), tick=False):
        account = SubAccountFactory(agency=world_a.agency)
        from tests.builders import only_item

        take_effect(world_a.agency, only_item(make_task(world_a, [account], **BARE_TASK)), at(2030, 1, 2, 10))
    messages_deliver_due(now=at(2031, 6, 2, 10), batch_size=10000)
    reminders = [m for m in mail.outbox if m.to == [world_a.user("owner").email]]
    assert reminders
    for message in reminders:
        assert f"https://mcn.example.cn{url(world_a)}" in message.body
        assert message.alternatives[0].mimetype == "text/html"
