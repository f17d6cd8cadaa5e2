"""The audit trail (tampering, export, printable page) and the approval pages."""

import json

import pytest
from django_scopes import scope

from approvals.models import ApprovalPolicy
from shutdown.events import chain_verify
from shutdown.models import TaskEvent
from shutdown.states import TaskState
from tests.builders import make_task

from .helpers import api, three_levels


def page(world, path):
    return f"/a/{world.agency.slug}/approvals/{path}"


def approved(world, items=2):
    task = make_task(world, items=items)
    world.client("operator").post(api(world, f"shutdown-tasks/{task.pk}/submit/"), {}, format="json")
    world.client("owner").post(api(world, f"shutdown-tasks/{task.pk}/approve/"), {}, format="json")
    return task


@pytest.mark.django_db
def test_tampering_with_an_event_is_reported_at_the_first_broken_link(world_a):
    task = approved(world_a)
    with scope(agency=world_a.agency):
        assert chain_verify(task=task)["ok"]
        victim = TaskEvent.objects.filter(task=task).order_by("seq")[2]
        TaskEvent.objects.filter(pk=victim.pk).update(data={**victim.data, "comment": "篡改"})
        result = chain_verify(task=task)
    assert result == {"ok": False, "events": 3, "first_broken_seq": victim.seq, "event_id": victim.pk}
    html = world_a.client("auditor").get(page(world_a, f"tasks/{task.pk}/audit/?verify=1")).content.decode()
    assert f"#{victim.seq}" in html
    assert "verify-bad" in html
    api_result = world_a.client("auditor").get(api(world_a, f"shutdown-tasks/{task.pk}/audit/verify/")).json()
    assert api_result["first_broken_seq"] == victim.seq


@pytest.mark.django_db
def test_deleting_an_event_breaks_the_chain(world_a):
    task = approved(world_a)
    with scope(agency=world_a.agency):
        TaskEvent.objects.filter(task=task, seq=2).delete()
        assert chain_verify(task=task)["first_broken_seq"] == 3


@pytest.mark.django_db
def test_audit_page_export_and_printable(world_a, world_b):
    task = approved(world_a)
    client = world_a.client("legal")
    r = client.get(page(world_a, f"tasks/{task.pk}/audit/?verify=1"))
    assert r.status_code == 200
    assert "approval.submitted" in r.content.decode()
    assert "verify-ok" in r.content.decode()
    export = client.get(page(world_a, f"tasks/{task.pk}/audit/export.json"))
    body = json.loads(export.content)
    assert export["Content-Disposition"].startswith("attachment")
    assert body["verification"]["ok"]
    assert [e["seq"] for e in body["events"]] == list(range(1, len(body["events"]) + 1))
    printable = client.get(page(world_a, f"tasks/{task.pk}/audit/print/"))
    assert printable.status_code == 200
    assert "printable" in printable.content.decode()
    assert world_a.client("operator").get(page(world_a, f"tasks/{task.pk}/audit/export.json")).status_code == 403
    assert world_b.client("owner").get(page(world_b, f"tasks/{task.pk}/audit/")).status_code == 404


@pytest.mark.django_db
def test_policy_page_create_edit_and_row_errors(world_a):
    client = world_a.client("owner")
    r = client.get(page(world_a, "policy/"))
    assert r.status_code == 200
    assert "No approval policy yet" in r.content.decode() or "还没有" in r.content.decode()
    form = {"name": "标准三级", "strategy": "", "is_active": "on", "levels-TOTAL_FORMS": "3",
            "levels-INITIAL_FORMS": "0", "levels-MIN_NUM_FORMS": "0", "levels-MAX_NUM_FORMS": "12",
            "levels-0-name": "运营", "levels-0-role": "operator", "levels-0-mode": "any",
            "levels-0-required_count": "1", "levels-0-sla_hours": "24",
            "levels-1-name": "法务", "levels-1-role": "", "levels-1-mode": "any",
            "levels-1-required_count": "1", "levels-1-sla_hours": "24",
            "levels-2-name": "", "levels-2-mode": "any", "levels-2-required_count": "1", "levels-2-sla_hours": ""}
    bad = client.post(page(world_a, "policy/new/"), form)
    assert bad.status_code == 400
    assert "level 2" in bad.content.decode()
    with scope(agency=world_a.agency):
        assert not ApprovalPolicy.objects.exists()
    form["levels-1-members"] = [str(world_a.user("legal").pk)]
    ok = client.post(page(world_a, "policy/new/"), form)
    assert ok.status_code == 302
    with scope(agency=world_a.agency):
        policy = ApprovalPolicy.objects.get()
        assert [lv.name for lv in policy.levels.order_by("position")] == ["运营", "法务"]
    assert client.get(page(world_a, f"policy/{policy.pk}/")).status_code == 200
    assert world_a.client("legal").get(page(world_a, "policy/")).status_code == 403


@pytest.mark.django_db
def test_task_action_buttons_and_conflicts_as_messages(world_a):
    three_levels(world_a)
    task = make_task(world_a)
    r = world_a.client("admin").post(page(world_a, f"tasks/{task.pk}/submit/"), {"comment": ""})
    assert r.status_code == 302
    task.refresh_from_db()
    assert task.state == TaskState.IN_APPROVAL
    # legal is not at level 1: the page redirects with the reason, nothing changes
    client = world_a.client("legal")
    r = client.post(page(world_a, f"tasks/{task.pk}/approve/"), {"comment": ""}, follow=True)
    assert r.status_code == 200
    assert r.redirect_chain[0][1] == 302
    messages = [str(m) for m in r.context["messages"]]
    assert len(messages) == 1
    assert "“运营”" in messages[0]
    task.refresh_from_db()
    assert task.state == TaskState.IN_APPROVAL
    assert world_a.client("auditor").post(page(world_a, f"tasks/{task.pk}/approve/")).status_code == 403
    r = world_a.client("operator").post(page(world_a, f"tasks/{task.pk}/approve/"), {"comment": "好"})
    assert r.status_code == 302


@pytest.mark.django_db
def test_task_panel_renders_levels_and_actions(world_a, rf):
    from django.template.loader import render_to_string

    from agency.tenancy import resolve_agency_access

    three_levels(world_a)
    task = make_task(world_a)
    world_a.client("admin").post(api(world_a, f"shutdown-tasks/{task.pk}/submit/"), {}, format="json")
    request = rf.get("/")
    request.user = world_a.user("operator")
    access = resolve_agency_access(user=request.user, agency_slug=world_a.agency.slug, permission=None)
    with scope(agency=world_a.agency):
        html = render_to_string("approvals/_task_panel.html",
                                {"task": task, "agency": world_a.agency, "access": access}, request=request)
    assert "运营" in html
    assert "法务" in html
    assert "/approve/" in html
    assert "/audit/" in html


@pytest.mark.django_db
def test_signature_and_delegation_pages(world_a, world_b):
    task = approved(world_a, items=3)
    r = world_a.client("operator").get(page(world_a, f"tasks/{task.pk}/signatures/?state=pending&sort=owner"))
    assert r.status_code == 200
    assert "Re-send" in r.content.decode() or "重新发送" in r.content.decode()
    assert world_b.client("owner").get(page(world_b, f"tasks/{task.pk}/signatures/")).status_code == 404
    r = world_a.client("legal").get(page(world_a, "delegations/"))
    assert r.status_code == 200
    r = world_a.client("legal").post(page(world_a, "delegations/"), {
        "delegate": world_b.user("legal").pk, "starts_at": "2030-01-01T09:00", "ends_at": "2030-01-05T09:00"})
    assert r.status_code == 400  # another agency's member is not a choice
    r = world_a.client("legal").post(page(world_a, "delegations/"), {
        "delegate": world_a.user("finance").pk, "starts_at": "2030-01-01T09:00", "ends_at": "2030-01-05T09:00",
        "reason": "年假"})
    assert r.status_code == 302


@pytest.mark.django_db
def test_inbox_page_and_bulk_approve(world_a, django_assert_max_num_queries):
    three_levels(world_a)
    tasks = [make_task(world_a, title=f"任务{i}") for i in range(3)]
    for t in tasks:
        world_a.client("admin").post(api(world_a, f"shutdown-tasks/{t.pk}/submit/"), {}, format="json")
    client = world_a.client("operator")
    client.get("/inbox/")
    with django_assert_max_num_queries(20):
        r = client.get("/inbox/")
    assert r.status_code == 200
    assert all(t.title in r.content.decode() for t in tasks)
    assert r.context["inbox_count"] == 3
    r = client.post("/inbox/", {"items": [f"{world_a.agency.slug}:{t.pk}" for t in tasks[:2]], "comment": "同意"})
    assert r.status_code == 302
    assert len(client.get("/inbox/").context["entries"]) == 1
    assert client.get("/inbox/").context["inbox_count"] == 1
    assert world_a.client("auditor").get("/inbox/").context["total"] == 0


@pytest.mark.django_db
def test_audit_page_shows_event_data_whatever_its_keys(world_a):
    from shutdown.events import event_record

    task = make_task(world_a)
    with scope(agency=world_a.agency):
        event_record(agency=world_a.agency, task=task, kind="task.created", data={"items": 3, "keys": ["a"]})
    r = world_a.client("auditor").get(page(world_a, f"tasks/{task.pk}/audit/"))
    html = r.content.decode()
    assert r.status_code == 200
    assert "task.created" in html
    assert "Task created" in html
    zh = world_a.client("auditor").get(page(world_a, f"tasks/{task.pk}/audit/"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "任务已创建" in zh.content.decode()
    export = world_a.client("owner").get(page(world_a, f"tasks/{task.pk}/audit/export.json")).json()
    assert {"kind": "task.created", "kind_label": "Task created"}.items() <= export["events"][-1].items()


@pytest.mark.django_db
def test_the_task_page_carries_the_approval_panel(world_a):
    three_levels(world_a)
    task = make_task(world_a)
    world_a.client("admin").post(api(world_a, f"shutdown-tasks/{task.pk}/submit/"), {}, format="json")
    r = world_a.client("operator").get(f"/a/{world_a.agency.slug}/tasks/{task.pk}/")
    html = r.content.decode()
    assert r.status_code == 200
    assert 'id="approval"' in html
    assert f"/approvals/tasks/{task.pk}/approve/" in html


@pytest.mark.django_db
def test_inbox_query_count_does_not_grow_with_tasks(world_a, django_assert_max_num_queries):
    three_levels(world_a)
    client = world_a.client("operator")

    def submit(n):
        for i in range(n):
            t = make_task(world_a, items=1, title=f"T{i}")
            world_a.client("admin").post(api(world_a, f"shutdown-tasks/{t.pk}/submit/"), {}, format="json")

    submit(1)
    client.get("/inbox/")
    with django_assert_max_num_queries(12):
        assert client.get("/api/v1/inbox/").json()["count"] == 1
    with django_assert_max_num_queries(16):
        client.get("/inbox/")
    submit(15)
    with django_assert_max_num_queries(12):
        assert client.get("/api/v1/inbox/").json()["count"] == 16
    with django_assert_max_num_queries(16):
        assert len(client.get("/inbox/").context["entries"]) == 16
