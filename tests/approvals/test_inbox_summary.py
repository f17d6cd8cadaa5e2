"""Inbox rows say what is being approved: strategy, accounts, followers, unsettled earnings and
pending ad revenue in total, open blockers, earliest deadline, at a cost that does not grow
with the number of rows."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from approvals.services.decisions import task_submit
from shutdown.models import Blocker, TaskItem
from tests.builders import make_task
from tests.factories import SubAccountFactory

from .helpers import three_levels

pytestmark = pytest.mark.django_db


def _task(world, title, followers, earnings, ad, blockers=0):
    accounts = [
        SubAccountFactory(
            agency=world.agency, followers=f, unwithdrawn_earnings=Decimal(e), pending_ad_revenue=Decimal(a)
        )
        for f, e, a in zip(followers, earnings, ad, strict=True)
    ]
    task = make_task(world, accounts, service=False, title=title)
    with scope(agency=world.agency):
        for item in list(TaskItem.objects.filter(task=task))[:blockers]:
            Blocker.objects.create(
                agency=world.agency,
                task=task,
                item=item,
                check_type="permissions",
                rule="R4",
                code="mcn_contract_active",
                state=Blocker.State.APPEALED,
            )
        task_submit(agency=world.agency, task=task, actor=world.user("admin"))
    return task


def test_each_inbox_row_summarises_what_is_approved(world_a):
    three_levels(world_a)
    _task(
        world_a,
        "头部账号关停",
        followers=[120000, 30000],
        earnings=["1200.50", "0"],
        ad=["800", "20"],
        blockers=1,
    )
    html = world_a.client("operator").get("/inbox/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for words in (
        "头部账号关停",
        "2 accounts",
        "150,000 followers",
        "¥1,200.50",
        "¥820.00",
        "1 open blocker",
        "Earliest deadline",
    ):
        assert words in html, words
    api = world_a.client("operator").get("/api/v1/inbox/").json()["results"][0]["summary"]
    assert api["accounts"] == 2 and api["followers"] == 150000 and api["open_blockers"] == 1
    assert Decimal(api["unsettled_earnings"]) == Decimal("1200.50")
    assert Decimal(api["pending_ad_revenue"]) == Decimal("820.00")
    assert api["earliest_deadline"]


def test_the_inbox_costs_the_same_queries_for_two_rows_or_twenty(world_a):
    three_levels(world_a)
    client = world_a.client("operator")

    def queries():
        client.get("/inbox/")
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/inbox/").status_code == 200
        return len(captured.captured_queries)

    for i in range(2):
        _task(world_a, f"T{i}", [10, 20], ["1", "0"], ["0", "600"], blockers=1)
    few = queries()
    for i in range(2, 20):
        _task(world_a, f"T{i}", [10, 20], ["1", "0"], ["0", "600"], blockers=1)
    assert len(world_a.client("operator").get("/inbox/").context["entries"]) == 20
    assert queries() == few


def test_the_approval_page_shows_the_same_totals(world_a):
    three_levels(world_a)
    task = _task(world_a, "腰部账号", followers=[5000, 7000], earnings=["10", "20"], ad=["0", "0"])
    html = (
        world_a.client("legal")
        .get(f"/a/{world_a.agency.slug}/approvals/tasks/{task.pk}/approval/", HTTP_ACCEPT_LANGUAGE="en")
        .content.decode()
    )
    assert "12,000" in html and "¥30.00" in html
    assert "Unwithdrawn earnings settled by" in html  # the consequence preview (R3.1)


def test_the_approval_page_costs_the_same_queries_for_two_accounts_or_thirty(world_a):
    three_levels(world_a)
    small = _task(world_a, "小任务", [10, 20], ["1", "0"], ["0", "600"], blockers=1)
    big = _task(world_a, "大任务", [10 * i for i in range(30)], ["1"] * 30, ["600"] * 30, blockers=5)
    client = world_a.client("operator")

    def queries(task):
        url = f"/a/{world_a.agency.slug}/approvals/tasks/{task.pk}/approval/"
        client.get(url)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured.captured_queries)

    assert queries(big) == queries(small)
