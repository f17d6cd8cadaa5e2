"""Issue 15: work in bulk inside a task — select items (ticked, or everything matching a filter
across pages), act on them at once, read “N done, M skipped because …”."""

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from shutdown.models import Blocker, EventKind, TaskDocument, TaskEvent, TaskItem, Tier
from shutdown.services import bulk
from shutdown.services.precheck import precheck_run
from shutdown.states import ItemState, TaskState
from tests.builders import make_task
from tests.conftest import requires_postgres
from tests.factories import SubAccountFactory

from .helpers import PDF, clean, run_precheck, upload

PENDING = "permissions.pending_orders"
ANOMALY = "technical.api_anomaly"


def url(world, name, **kwargs):
    return reverse(f"shutdown:{name}", kwargs={"agency_slug": world.agency.slug, **kwargs})


def blocked_task(world, n: int = 60, *, every: int = 1, platform_of=lambda i: "douyin", tier_rule=None):
    """A checked task of `n` accounts: every `every`-th has pending orders (R4), the 3rd of each
    ten an API anomaly too."""
    accounts = [
        SubAccountFactory(
            agency=world.agency,
            platform=platform_of(i),
            **clean(pending_orders=1 if i % every == 0 else 0, api_anomaly=i % 10 == 3),
        )
        for i in range(n)
    ]
    kwargs = {"tier_rule": tier_rule} if tier_rule else {}
    return run_precheck(world, make_task(world, accounts, **kwargs))


def messages_of(response):
    """The message this request added (earlier ones wait in the session until a page shows them)."""
    return [str(m) for m in get_messages(response.wsgi_request)][-1:]


def open_blockers(world, task, code):
    with world.scope():
        return (
            Blocker.objects.filter(task=task, code=code, state__in=Blocker.BLOCKING_STATES)
            .exclude(item__state__in=("excluded", "cancelled"))
            .count()
        )


def test_resolve_every_matching_item_across_pages_from_the_filter(world_a):
    task = blocked_task(world_a, 60)
    client = world_a.client("operator")
    # The task page lists 50 per page; the selection is the filter, not the ids of one page.
    page = client.get(url(world_a, "task_detail", pk=task.pk) + f"?blocker={PENDING}")
    html = page.content.decode()
    assert "60 accounts match" in html
    assert html.count('name="ids"') == 50
    response = client.post(
        url(world_a, "task_bulk", pk=task.pk) + f"?blocker={PENDING}",
        {"all_matching": "1", "action": "resolve", "code": PENDING, "note": "订单已全部履约"},
    )
    assert response.status_code == 302
    assert f"blocker={PENDING}" in response["Location"]
    assert messages_of(response) == ["60 accounts done. 60 accounts are being checked again."]
    assert open_blockers(world_a, task, PENDING) == 0
    assert open_blockers(world_a, task, ANOMALY) == 6  # another kind is left alone
    with world_a.scope():
        events = TaskEvent.objects.filter(task=task, kind=EventKind.BLOCKER_RESOLVED)
        assert events.count() == 60  # one timeline event per item
        assert {e.data["note"] for e in events} == {"订单已全部履约"}
        assert task.items.filter(state=ItemState.CHECKING).count() == 60
    with world_a.scope():
        precheck_run(agency=world_a.agency, task_id=task.pk)
        task.refresh_from_db()
        assert task.items.filter(state=ItemState.READY).count() == 54
        assert task.items.filter(state=ItemState.BLOCKED).count() == 6  # the anomalies remain
    from shutdown.events import chain_verify

    with world_a.scope():
        assert chain_verify(task=task)["ok"]


def test_ticked_ids_only_and_skips_are_explained(world_a):
    task = blocked_task(world_a, 6, every=2)  # 0, 2, 4 have pending orders
    with world_a.scope():
        items = list(TaskItem.objects.filter(task=task).order_by("pk"))
    client = world_a.client("operator")
    client.post(
        url(world_a, "task_bulk", pk=task.pk),
        {"ids": [items[4].pk], "action": "exclude", "reason": "合作未完"},
    )
    response = client.post(
        url(world_a, "task_bulk", pk=task.pk),
        {"ids": [i.pk for i in items[:5]], "action": "resolve", "code": PENDING, "note": "已处理"},
    )
    assert messages_of(response) == [
        "2 accounts done, 3 skipped because: no open blocker of this kind (2); excluded or cancelled (1). "
        "2 accounts are being checked again."
    ]
    assert open_blockers(world_a, task, PENDING) == 0  # item 4's blocker no longer counts (excluded)
    with world_a.scope():
        assert Blocker.objects.get(item=items[4], code=PENDING).state == Blocker.State.OPEN


def test_an_unknown_or_invalid_filter_is_refused_and_changes_nothing(world_a):
    task = blocked_task(world_a, 4)
    client = world_a.client("operator")
    for query, words in (("?platfrom=douyin", "Unknown filter “platfrom”"), ("?state=gone", "invalid value")):
        response = client.post(
            url(world_a, "task_bulk", pk=task.pk) + query, {"all_matching": "1", "action": "exclude"}
        )
        assert response.status_code == 302
        assert any(words in m for m in messages_of(response)), messages_of(response)
    with world_a.scope():
        assert not task.items.filter(state=ItemState.EXCLUDED).exists()
    # empty means any: a drop-down left at “All” sends `state=`
    response = client.post(
        url(world_a, "task_bulk", pk=task.pk) + "?state=&platform=",
        {"all_matching": "1", "action": "exclude"},
    )
    assert messages_of(response) == ["4 accounts done."]
    # nothing ticked and not “all matching”: said so
    task2 = blocked_task(world_a, 2)
    response = client.post(url(world_a, "task_bulk", pk=task2.pk), {"action": "exclude"})
    assert "Select at least one account" in messages_of(response)[0]


def test_filters_by_platform_tier_state_and_rule(world_a):
    task = blocked_task(
        world_a, 10, every=2, platform_of=lambda i: "douyin" if i < 5 else "bilibili", tier_rule="platform"
    )
    with world_a.scope():
        tiers = list(Tier.objects.filter(task=task).order_by("position"))
    assert len(tiers) == 2
    with world_a.scope():
        base = TaskItem.objects.filter(task=task)
        assert bulk.item_selection(task=task, params={"platform": "bilibili"}).count() == 5
        assert bulk.item_selection(task=task, params={"tier": str(tiers[0].pk)}).count() == 5
        assert (
            bulk.item_selection(task=task, params={"state": "blocked"}).count()
            == base.filter(state=ItemState.BLOCKED).count()
        )
        assert bulk.item_selection(task=task, params={"rule": "R4", "platform": "douyin"}).count() == 4


def test_move_exclude_and_one_document_for_many(world_a):
    accounts = [
        SubAccountFactory(agency=world_a.agency, **clean(region="international", country="FR"))
        for _ in range(5)
    ]
    task = run_precheck(world_a, make_task(world_a, accounts, tier_rule="batch_size", batch_size=3))
    client = world_a.client("operator")
    with world_a.scope():
        tiers = list(Tier.objects.filter(task=task).order_by("position"))
        assert task.items.filter(state=ItemState.BLOCKED).count() == 5  # GDPR declaration missing (R7.3)
    response = client.post(
        url(world_a, "task_bulk", pk=task.pk),
        {
            "all_matching": "1",
            "action": "upload",
            "kind": "gdpr_declaration",
            "file": upload(PDF, "gdpr.pdf"),
        },
    )
    assert messages_of(response) == ["5 accounts done. 5 accounts are being checked again."]
    with world_a.scope():
        documents = list(TaskDocument.objects.filter(task=task))
    assert len(documents) == 5
    assert len({d.file.name for d in documents}) == 1  # stored once
    with world_a.scope():
        assert {d.item_id for d in documents} == set(task.items.values_list("pk", flat=True))
    with world_a.scope():
        precheck_run(agency=world_a.agency, task_id=task.pk)
        task.refresh_from_db()
        assert task.state == TaskState.READY
    response = client.post(
        url(world_a, "task_bulk", pk=task.pk) + f"?tier={tiers[0].pk}",
        {"all_matching": "1", "action": "move", "tier": tiers[1].pk},
    )
    assert messages_of(response) == ["3 accounts done."]
    response = client.post(
        url(world_a, "task_bulk", pk=task.pk), {"all_matching": "1", "action": "move", "tier": tiers[1].pk}
    )
    assert messages_of(response) == ["0 accounts done, 5 skipped because: already in that tier (5)."]
    response = client.post(url(world_a, "task_bulk", pk=task.pk), {"all_matching": "1", "action": "exclude"})
    assert messages_of(response) == ["5 accounts done."]
    with world_a.scope():
        task.refresh_from_db()
        assert task.state == TaskState.DRAFT  # no active item left
        assert TaskEvent.objects.filter(task=task, kind=EventKind.ITEM_EXCLUDED).count() == 5


def test_a_resolve_needs_a_note_and_an_answerable_kind(world_a):
    task = blocked_task(world_a, 2)
    client = world_a.client("operator")
    response = client.post(
        url(world_a, "task_bulk", pk=task.pk),
        {"all_matching": "1", "action": "resolve", "code": PENDING, "note": " "},
    )
    assert "Say how the blockers were resolved." in messages_of(response)
    response = client.post(
        url(world_a, "task_bulk", pk=task.pk),
        {"all_matching": "1", "action": "resolve", "code": "documents.gdpr_declaration", "note": "x"},
    )
    assert "not by a note" in messages_of(response)[0]
    assert open_blockers(world_a, task, PENDING) == 2


def test_permissions(world_a):
    task = blocked_task(world_a, 2)
    data = {"all_matching": "1", "action": "exclude"}
    assert world_a.client("auditor").post(url(world_a, "task_bulk", pk=task.pk), data).status_code == 403
    assert world_a.client("operator").get(url(world_a, "task_bulk", pk=task.pk)).status_code == 405
    # the auditor sees no checkboxes
    html = world_a.client("auditor").get(url(world_a, "task_detail", pk=task.pk)).content.decode()
    assert 'name="ids"' not in html


@pytest.mark.parametrize("action", ["resolve", "exclude", "move", "upload"])
def test_query_count_does_not_grow_with_the_selection(world_a, action):
    counts = []
    for n in (5, 40):
        task = blocked_task(world_a, n)
        params = {"code": PENDING, "note": "ok", "reason": "x", "kind": "other"}
        with world_a.scope():
            if action == "move":
                Tier.objects.create(agency=world_a.agency, task=task, position=99, name="后移")
                params["tier"] = Tier.objects.get(task=task, position=99).pk
            with CaptureQueriesContext(connection) as ctx:
                result = bulk.bulk_run(
                    agency=world_a.agency,
                    task=task,
                    actor=world_a.user("operator"),
                    action=action,
                    filters={},
                    params=params,
                    upload=upload(PDF) if action == "upload" else None,
                )
        assert result.done == n
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_bulk_actions_lock_the_rows_they_change(world_a):
    task = blocked_task(world_a, 3)
    with world_a.scope(), CaptureQueriesContext(connection) as ctx:
        bulk.bulk_run(
            agency=world_a.agency,
            task=task,
            actor=world_a.user("operator"),
            action="resolve",
            filters={},
            params={"code": PENDING, "note": "ok"},
        )
    locked = [q["sql"] for q in ctx.captured_queries if "FOR UPDATE" in q["sql"]]
    assert any('FROM "shutdown_taskitem"' in sql for sql in locked), locked
    assert any('FROM "shutdown_blocker"' in sql for sql in locked), locked


def test_api_bulk(world_a, world_b):
    task = blocked_task(world_a, 4)
    api = f"/api/v1/agencies/{world_a.agency.slug}/shutdown-tasks/{task.pk}/bulk/"
    client = world_a.client("operator")
    response = client.post(
        api,
        {"action": "resolve", "filter": {"blocker": PENDING}, "code": PENDING, "note": "已履约"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["done"] == 4
    assert response.json()["message"].startswith("4 accounts done.")
    response = client.post(api, {"action": "exclude", "filter": {"platfrom": "douyin"}}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unknown_filter"
    assert (
        world_a.client("auditor").post(api, {"action": "exclude", "filter": {}}, format="json").status_code
        == 403
    )
    assert (
        world_b.client("owner").post(api, {"action": "exclude", "filter": {}}, format="json").status_code
        == 404
    )


def test_the_bulk_bar_and_its_result_in_chinese(world_a):
    from django.utils import translation

    task = blocked_task(world_a, 3)
    client = world_a.client("operator")
    with translation.override("zh-hans"):
        html = client.get(
            url(world_a, "task_detail", pk=task.pk), HTTP_ACCEPT_LANGUAGE="zh-hans"
        ).content.decode()
        assert "批量操作" in html and "解决一类阻碍" in html and "对当前筛选的全部 3 个账号操作" in html
        response = client.post(
            url(world_a, "task_bulk", pk=task.pk),
            {"all_matching": "1", "action": "resolve", "code": PENDING, "note": "已处理"},
            HTTP_ACCEPT_LANGUAGE="zh-hans",
        )
    assert messages_of(response) == ["已完成 3 个账号。3 个账号正在重新预检。"]


def test_resolve_with_one_document_attached_to_every_account(world_a):
    task = blocked_task(world_a, 5)
    response = world_a.client("operator").post(
        url(world_a, "task_bulk", pk=task.pk) + f"?blocker={PENDING}",
        {
            "all_matching": "1",
            "action": "resolve",
            "code": PENDING,
            "note": "终止协议见附件",
            "file": upload(PDF, "终止协议.pdf"),
        },
    )
    assert messages_of(response)[0].startswith("5 accounts done.")
    with world_a.scope():
        documents = list(TaskDocument.objects.filter(task=task))
        events = list(TaskEvent.objects.filter(task=task, kind=EventKind.BLOCKER_RESOLVED))
    assert len(documents) == 5 and len({d.file.name for d in documents}) == 1
    assert {d.original_name for d in documents} == {"终止协议.pdf"}
    assert {e.data["document_sha256"] for e in events} == {documents[0].sha256}


def test_a_refused_file_changes_nothing(world_a):
    task = blocked_task(world_a, 3)
    response = world_a.client("operator").post(
        url(world_a, "task_bulk", pk=task.pk),
        {
            "all_matching": "1",
            "action": "resolve",
            "code": PENDING,
            "note": "x",
            "file": upload(b"MZ\x90\x00", "a.exe"),
        },
    )
    assert "is not a PDF, JPEG or PNG file" in messages_of(response)[0]
    assert open_blockers(world_a, task, PENDING) == 3
    with world_a.scope():
        assert not TaskDocument.objects.filter(task=task).exists()
