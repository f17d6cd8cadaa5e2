"""In-app notices: the unread count in the top bar, each notice opened through its link and
marked read on the way."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scope

from notifications.models import OutboundMessage

pytestmark = pytest.mark.django_db


def _notice(world, user, *, link="", n=1, read=False):
    with scope(agency=world.agency):
        for i in range(n):
            OutboundMessage.objects.create(
                agency=world.agency,
                channel="inapp",
                kind="approval_request",
                template_code="approval_request",
                params={"link": link} if link else {},
                recipient_user=user,
                send_after=timezone.now(),
                status="sent",
                sent_at=timezone.now(),
                idempotency_key=f"t:{user.pk}:{i}:{link}",
                subject=f"通知 {i}",
                read_at=timezone.now() if read else None,
            )


def _badge(html: str) -> str:
    match = re.search(r'class="notices-link"[^>]*>[^<]*(?:<span class="badge"[^>]*>(\d+)</span>)?', html)
    assert match, "no notifications link in the top bar"
    return match.group(1) or ""


def test_the_top_bar_shows_my_unread_count_of_this_agency(world_a, world_b):
    user = world_a.user("operator")
    _notice(world_a, user, n=3)
    _notice(world_a, user, n=2, read=True, link="/x/")
    _notice(world_a, world_a.user("legal"), n=4)  # somebody else's
    client = Client()
    client.force_login(user)
    html = client.get(f"/a/{world_a.agency.slug}/").content.decode()
    assert _badge(html) == "3"
    assert f'href="/a/{world_a.agency.slug}/notifications/"' in html


def test_no_badge_when_everything_is_read(world_a):
    user = world_a.user("operator")
    _notice(world_a, user, n=2, read=True)
    client = Client()
    client.force_login(user)
    assert _badge(client.get(f"/a/{world_a.agency.slug}/").content.decode()) == ""


def test_opening_a_notice_marks_it_read_and_follows_its_link(world_a):
    user = world_a.user("operator")
    _notice(world_a, user, link=f"/a/{world_a.agency.slug}/tasks/")
    with scope(agency=world_a.agency):
        note = OutboundMessage.objects.get(recipient_user=user)
    client = Client()
    client.force_login(user)
    listing = client.get(f"/a/{world_a.agency.slug}/notifications/").content.decode()
    open_url = f"/a/{world_a.agency.slug}/notifications/{note.pk}/open/"
    assert open_url in listing
    response = client.get(open_url)
    assert response.status_code == 302 and response["Location"] == f"/a/{world_a.agency.slug}/tasks/"
    with scope(agency=world_a.agency):
        note.refresh_from_db()
    assert note.read_at is not None
    assert _badge(client.get(f"/a/{world_a.agency.slug}/").content.decode()) == ""


def test_somebody_elses_notice_cannot_be_opened(world_a, world_b):
    _notice(world_a, world_a.user("legal"), link="/a/x/")
    with scope(agency=world_a.agency):
        note = OutboundMessage.objects.get()
    client = Client()
    client.force_login(world_a.user("operator"))
    assert client.get(f"/a/{world_a.agency.slug}/notifications/{note.pk}/open/").status_code == 404
    assert (
        world_b.client("owner").get(f"/a/{world_b.agency.slug}/notifications/{note.pk}/open/").status_code
        == 404
    )
    with scope(agency=world_a.agency):
        note.refresh_from_db()
    assert note.read_at is None


def test_the_unread_count_costs_one_query_whatever_the_number_of_notices(world_a):
    user = world_a.user("auditor")
    client = Client()
    client.force_login(user)
    url = f"/a/{world_a.agency.slug}/notifications/"
    client.get(url)

    def count():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return [q["sql"] for q in captured.captured_queries]

    _notice(world_a, user, n=1)
    few = count()
    _notice(world_a, user, n=40, link="/a/y/")
    many = count()
    assert len(many) == len(few), "\n".join(many)
    assert sum('FROM "notifications_outboundmessage"' in q and "COUNT" in q.upper() for q in many) >= 1
