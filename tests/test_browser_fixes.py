"""What a person noticed in the browser (issue 14, “Broken”): filters left at “全部”, links
that lead to the wrong server, busy accounts named by id, a shut-down account without history,
tier names in the creator's language, a missing favicon, the outbox order."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone, translation
from django_scopes import scope, scopes_disabled

from agency.models import SubAccountStatus
from agency.services.subaccounts import subaccounts_status_set
from notifications.models import OutboundMessage
from notifications.services.delivery import messages_deliver_due
from notifications.services.enqueue import message_enqueue
from shutdown.models import Tier
from tests.builders import make_task
from tests.factories import SubAccountFactory

pytestmark = pytest.mark.django_db


def _list(world, query=""):
    return world.client("operator").get(f"/a/{world.agency.slug}/sub-accounts/{query}").content.decode()


def test_filters_left_at_any_list_everything_and_one_platform_lists_that_platform(world_a):
    SubAccountFactory(agency=world_a.agency, platform="douyin", display_name="抖音的号")
    SubAccountFactory(agency=world_a.agency, platform="kuaishou", display_name="快手的号")
    body = _list(world_a, "?search=&platform=&kind=&status=&region=&high_risk=&has_open_obligations="
                          "&followers_min=&followers_max=&contract_end_before=&tag=&archived=&page_size=50")
    assert "抖音的号" in body and "快手的号" in body
    assert "valid choice" not in body
    body = _list(world_a, "?search=&platform=kuaishou&kind=&status=&region=&high_risk=&followers_min=&archived=")
    assert "快手的号" in body and "抖音的号" not in body


def test_a_filter_error_is_named_by_its_label_not_its_parameter(world_a):
    body = _list(world_a, "?followers_min=abc")
    errors = body.split('class="errorlist filter-errors"')[1].split("</ul>")[0]
    assert "Followers from" in errors and "followers_min" not in errors


def test_the_api_filters_also_read_empty_as_any(world_a):
    SubAccountFactory(agency=world_a.agency)
    client = world_a.client("operator")
    body = client.get(f"/api/v1/agencies/{world_a.agency.slug}/sub-accounts/?kind=&platform=&status=").json()
    assert body["count"] == 1
    body = client.get(f"/api/v1/agencies/{world_a.agency.slug}/outbox/?status=&channel=&kind=").json()
    assert body["count"] == 0


def test_task_creation_names_busy_accounts_and_lets_the_user_leave_them_out(world_a):
    busy = SubAccountFactory(agency=world_a.agency, platform="kuaishou", display_name="阿强的快手")
    free = SubAccountFactory(agency=world_a.agency, platform="douyin", display_name="小鱼的抖音")
    running = make_task(world_a, [busy], title="第一轮关停")
    client = world_a.client("operator")
    url = f"/a/{world_a.agency.slug}/tasks/new/"
    page = client.get(url, {"ids": [busy.pk, free.pk]}).content.decode()
    assert "Kuaishou · 阿强的快手" in page
    assert f"/tasks/{running.pk}/" in page  # the task that holds it
    assert "Leave out the accounts already in a running task" in page
    refused = client.post(url, {"ids": [busy.pk, free.pk], "title": "第二轮", "strategy": "shutdown"})
    assert "Kuaishou · 阿强的快手" in refused.content.decode()
    created = client.post(url, {"ids": [busy.pk, free.pk], "title": "第二轮", "strategy": "shutdown",
                                "leave_out_busy": "on"})
    assert created.status_code == 302
    task_page = client.get(created["Location"]).content.decode()
    assert "小鱼的抖音" in task_page and "阿强的快手" not in task_page
    listing = _list(world_a)
    assert "In running task “第一轮关停”" in listing


def _reminder(world, channel, key):
    with scope(agency=world.agency):
        return message_enqueue(agency=world.agency, channel=channel, kind="approval_request",
                               template_code="approval_request", idempotency_key=key,
                               recipient_user=world.user("legal"),
                               params={"agency": "A", "task": "批量关停", "level": "法务", "due_at": "2030-01-03",
                                       "link": f"/a/{world.agency.slug}/tasks/7/"},
                               language="en")[0]


@override_settings(SITE_URL="http://127.0.0.1:8102")
def test_emails_link_to_site_url_and_in_app_notices_show_a_relative_link(world_a):
    _reminder(world_a, "email", "e1")
    _reminder(world_a, "inapp", "i1")
    messages_deliver_due()
    assert f"http://127.0.0.1:8102/a/{world_a.agency.slug}/tasks/7/" in mail.outbox[0].body
    client = world_a.client("legal")
    page = client.get(f"/a/{world_a.agency.slug}/notifications/").content.decode()
    assert "127.0.0.1:8102" not in page
    # the notice's link opens it (marking it read) and leads to the relative path it carries
    opener = re.search(rf'href="(/a/{world_a.agency.slug}/notifications/\d+/open/)"', page)
    assert opener, page
    assert client.get(opener.group(1))["Location"] == f"/a/{world_a.agency.slug}/tasks/7/"


def test_approval_links_stored_in_messages_are_paths(world_a):
    from approvals.services.common import task_url

    task = make_task(world_a, service=False)
    assert task_url(agency=world_a.agency, task=task) == f"/a/{world_a.agency.slug}/tasks/{task.pk}/"


def test_make_run_derives_site_url_from_host_and_port():
    import subprocess

    out = subprocess.run(["make", "-n", "run", "PORT=8102", "HOST=127.0.0.1"], capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin"}).stdout
    assert "SITE_URL=http://127.0.0.1:8102" in out


def test_a_shut_down_account_links_to_its_task_and_timeline_and_its_history_says_so(world_a):
    account = SubAccountFactory(agency=world_a.agency, display_name="停掉的号")
    task = make_task(world_a, [account], title="年终清理")
    with scopes_disabled():
        subaccounts_status_set(agency=world_a.agency, actor=world_a.user("operator"), subaccount_ids=[account.pk],
                               status=SubAccountStatus.SHUT_DOWN)
    page = world_a.client("owner").get(f"/a/{world_a.agency.slug}/sub-accounts/{account.pk}/").content.decode()
    assert f"/a/{world_a.agency.slug}/tasks/{task.pk}/" in page and "年终清理" in page
    assert f"/a/{world_a.agency.slug}/deadlines/accounts/{account.pk}/" in page
    assert "Status changed by a shutdown task" in page
    assert "Shut down" in page and "shut_down" not in page.split("History")[-1]
    assert "No changes recorded yet" not in page


def test_generated_tier_names_follow_the_viewers_language(world_a):
    accounts = [SubAccountFactory(agency=world_a.agency, platform=p) for p in ("douyin", "bilibili")]
    with translation.override("zh-hans"):
        task = make_task(world_a, accounts, tier_rule="platform")
    with scopes_disabled():
        tiers = list(Tier.objects.filter(task=task).order_by("position"))
    with translation.override("en"):
        assert tiers[0].display_name == "Douyin / Kuaishou (first)"
    with translation.override("zh-hans"):
        assert tiers[0].display_name != "Douyin / Kuaishou (first)"
    english = world_a.client("owner").get(f"/a/{world_a.agency.slug}/tasks/{task.pk}/",
                                          headers={"accept-language": "en"}).content.decode()
    assert "Bilibili / Xiaohongshu (last)" in english


def test_favicon_is_served(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"


def test_outbox_most_recent_first_puts_past_messages_before_next_years_reminders(world_a):
    now = timezone.now()
    with scope(agency=world_a.agency):
        for key, when in (("past", now - timedelta(days=1)), ("future", now + timedelta(days=400))):
            message_enqueue(agency=world_a.agency, channel="email", kind="reminder", template_code="deadline_reminder",
                            idempotency_key=key, recipient_address=f"{key}@example.cn", params={}, language="en",
                            send_after=when)
    client = world_a.client("owner")
    page = client.get(f"/a/{world_a.agency.slug}/notifications/outbox/").content.decode()
    assert page.index("past@example.cn") < page.index("future@example.cn")
    assert "Most recent first" in page and "Next to go out first" in page
    page = client.get(f"/a/{world_a.agency.slug}/notifications/outbox/?sort=upcoming").content.decode()
    assert page.index("future@example.cn") < page.index("past@example.cn")
    page = client.get(f"/a/{world_a.agency.slug}/notifications/outbox/?kind=reminder&status=&channel=&q=")
    assert '<option value="reminder" selected>Deadline reminder</option>' in page.content.decode()
    with scopes_disabled():
        assert OutboundMessage.objects.count() == 2


def test_the_matrix_target_is_named_by_platform_and_account_id_not_a_database_id(world_a):
    target = SubAccountFactory(agency=world_a.agency, platform="douyin", platform_account_id="dy_10001")
    moving = SubAccountFactory(agency=world_a.agency, platform="kuaishou")
    client = world_a.client("operator")
    url = f"/a/{world_a.agency.slug}/tasks/new/"
    form = client.get(url, {"ids": [moving.pk]}).content.decode()
    assert "抖音:dy_10001" in form
    response = client.post(url, {"ids": [moving.pk], "title": "矩阵", "strategy": "matrix",
                                 "matrix_target": "抖音:dy_10001"})
    assert response.status_code == 302
    with scopes_disabled():
        from shutdown.models import ShutdownTask

        assert ShutdownTask.objects.get(title="矩阵").matrix_target_id == target.pk
