"""The approvals API: success, 403 for a role that never may, 409 when not now, 404 across agencies."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import scope

from approvals.models import ApprovalPolicy, Delegation, SignatureRequest
from shutdown.models import TaskEvent
from shutdown.states import TaskState
from tests.builders import make_task

from .helpers import api, three_levels


def post(world, role, path, body=None):
    return world.client(role).post(api(world, path), body or {}, format="json")


@pytest.mark.django_db
def test_submit_approve_reject_flow(world_a):
    three_levels(world_a)
    task = make_task(world_a)
    r = post(world_a, "admin", f"shutdown-tasks/{task.pk}/submit/", {"comment": "请审批"})
    assert r.status_code == 200
    assert r.json()["state"] == TaskState.IN_APPROVAL
    r = post(world_a, "legal", f"shutdown-tasks/{task.pk}/approve/")
    assert r.status_code == 409
    assert "Level 1" in r.json()["error"]["message"]
    assert post(world_a, "operator", f"shutdown-tasks/{task.pk}/approve/", {"comment": "同意"}).status_code == 200
    r = post(world_a, "operator", f"shutdown-tasks/{task.pk}/approve/")
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "not_allowed_now"
    r = post(world_a, "legal", f"shutdown-tasks/{task.pk}/reject/", {"comment": ""})
    assert r.status_code == 400
    assert "comment" in r.json()["error"]["details"]
    r = post(world_a, "legal", f"shutdown-tasks/{task.pk}/reject/", {"comment": "缺材料"})
    assert r.status_code == 200
    assert r.json()["state"] == TaskState.DRAFT
    status = world_a.client("auditor").get(api(world_a, f"shutdown-tasks/{task.pk}/approval/")).json()
    assert status["rounds"][0]["state"] == "rejected"
    assert [d["decision"] for s in status["rounds"][0]["stages"] for d in s["decisions"]] == ["approve", "reject"]


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["submit", "approve", "reject", "withdraw", "cancel"])
def test_a_role_that_never_may_gets_403(world_a, action):
    task = make_task(world_a)
    r = post(world_a, "auditor", f"shutdown-tasks/{task.pk}/{action}/", {"comment": "x"})
    assert r.status_code == 403
    assert r.json()["error"]["status"] == 403


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["submit", "approve", "reject", "withdraw", "cancel", "approval", "audit"])
def test_other_agencies_get_404(world_a, world_b, action):
    task = make_task(world_a)
    method = "get" if action in ("approval", "audit") else "post"
    # not a member of alpha
    r = getattr(world_b.client("owner"), method)(api(world_a, f"shutdown-tasks/{task.pk}/{action}/"), {},
                                                 format="json")
    assert r.status_code == 404
    # a member of beta naming alpha's task under beta's slug
    r = getattr(world_b.client("owner"), method)(api(world_b, f"shutdown-tasks/{task.pk}/{action}/"), {},
                                                 format="json")
    assert r.status_code == 404
    with scope(agency=world_a.agency):
        task.refresh_from_db()
    assert task.state == TaskState.READY


@pytest.mark.django_db
def test_withdraw_and_cancel(world_a):
    three_levels(world_a)
    task = make_task(world_a)
    post(world_a, "admin", f"shutdown-tasks/{task.pk}/submit/")
    assert post(world_a, "operator", f"shutdown-tasks/{task.pk}/withdraw/").status_code == 409  # not the submitter
    assert post(world_a, "admin", f"shutdown-tasks/{task.pk}/withdraw/").json()["state"] == TaskState.DRAFT
    assert post(world_a, "operator", f"shutdown-tasks/{task.pk}/cancel/", {"comment": "x"}).status_code == 403
    r = post(world_a, "owner", f"shutdown-tasks/{task.pk}/cancel/", {"comment": "不做了"})
    assert r.status_code == 200
    assert r.json()["state"] == TaskState.CANCELLED
    assert post(world_a, "owner", f"shutdown-tasks/{task.pk}/cancel/", {"comment": "again"}).status_code == 409


@pytest.mark.django_db
def test_policy_crud_and_foreign_members_rejected(world_a, world_b):
    body = {"name": "三级", "strategy": "", "levels": [
        {"name": "运营", "role": "operator", "mode": "any", "sla_hours": 24},
        {"name": "指定法务", "members": [world_a.user("legal").pk], "mode": "all", "sla_hours": 48},
    ]}
    r = world_a.client("owner").post(api(world_a, "approval-policies/"), body, format="json")
    assert r.status_code == 201, r.json()
    policy_id = r.json()["id"]
    assert [lv["name"] for lv in r.json()["levels"]] == ["运营", "指定法务"]
    assert r.json()["levels"][1]["members"] == [world_a.user("legal").pk]
    # the wrong role
    assert world_a.client("operator").post(api(world_a, "approval-policies/"), body, format="json").status_code == 403
    # another agency's member in the body
    bad = {**body, "strategy": "dormant", "levels": [{"name": "x", "members": [world_b.user("legal").pk],
                                                      "sla_hours": 1}]}
    r = world_a.client("owner").post(api(world_a, "approval-policies/"), bad, format="json")
    assert r.status_code == 400
    # a level with neither role nor members names the row
    bad = {**body, "strategy": "dormant", "levels": [{"name": "x", "sla_hours": 1}]}
    r = world_a.client("owner").post(api(world_a, "approval-policies/"), bad, format="json")
    assert r.status_code == 400
    assert "level 1" in r.json()["error"]["details"]
    r = world_a.client("admin").put(api(world_a, f"approval-policies/{policy_id}/"),
                                    {**body, "levels": body["levels"][:1]}, format="json")
    assert r.status_code == 200
    assert len(r.json()["levels"]) == 1
    assert world_b.client("owner").get(api(world_b, f"approval-policies/{policy_id}/")).status_code == 404
    assert world_a.client("owner").delete(api(world_a, f"approval-policies/{policy_id}/")).status_code == 204
    with scope(agency=world_a.agency):
        assert not ApprovalPolicy.objects.exists()


@pytest.mark.django_db
def test_policy_list_query_count_is_flat(world_a, django_assert_max_num_queries):
    three_levels(world_a)
    client = world_a.client("auditor")
    with django_assert_max_num_queries(8):
        small = client.get(api(world_a, "approval-policies/"))
    for strategy in ("dormant", "restrict", "matrix"):
        three_levels(world_a, strategy=strategy)
    with django_assert_max_num_queries(8):
        large = client.get(api(world_a, "approval-policies/"))
    assert small.json()["count"] == 1
    assert large.json()["count"] == 4


@pytest.mark.django_db
def test_delegations_api(world_a, world_b):
    now = timezone.now()
    body = {"delegate": world_a.user("finance").pk, "starts_at": now.isoformat(),
            "ends_at": (now + timedelta(days=2)).isoformat(), "reason": "出差"}
    r = world_a.client("legal").post(api(world_a, "delegations/"), body, format="json")
    assert r.status_code == 201, r.json()
    assert r.json()["delegator"] == world_a.user("legal").pk
    assert world_a.client("auditor").post(api(world_a, "delegations/"), body, format="json").status_code == 403
    foreign = {**body, "delegate": world_b.user("finance").pk}
    assert world_a.client("legal").post(api(world_a, "delegations/"), foreign, format="json").status_code == 400
    backwards = {**body, "ends_at": (now - timedelta(days=1)).isoformat()}
    r = world_a.client("legal").post(api(world_a, "delegations/"), backwards, format="json")
    assert r.status_code == 400
    assert "ends_at" in r.json()["error"]["details"]
    with scope(agency=world_a.agency):
        pk = Delegation.objects.get().pk
    assert world_a.client("operator").delete(api(world_a, f"delegations/{pk}/")).status_code == 409
    r = world_a.client("legal").delete(api(world_a, f"delegations/{pk}/"))
    assert r.status_code == 200
    assert r.json()["revoked_at"]
    assert world_b.client("owner").delete(api(world_b, f"delegations/{pk}/")).status_code == 404


def _approved(world, items):
    task = make_task(world, items=items)
    post(world, "operator", f"shutdown-tasks/{task.pk}/submit/")
    assert post(world, "owner", f"shutdown-tasks/{task.pk}/approve/").status_code == 200
    return task


@pytest.mark.django_db
def test_signatures_list_resend_revoke(world_a, world_b, django_assert_max_num_queries):
    task = _approved(world_a, 2)
    client = world_a.client("auditor")
    with django_assert_max_num_queries(6):
        small = client.get(api(world_a, f"signatures/?task={task.pk}"))
    big = _approved(world_a, 25)
    with django_assert_max_num_queries(6):
        large = client.get(api(world_a, f"signatures/?task={big.pk}"))
    assert small.json()["count"] == 2
    assert large.json()["count"] == 25
    with scope(agency=world_a.agency):
        sig = SignatureRequest.objects.filter(task=task).first()
    assert post(world_a, "auditor", f"signatures/{sig.pk}/resend/").status_code == 403
    r = post(world_a, "operator", f"signatures/{sig.pk}/resend/")
    assert r.status_code == 200
    assert r.json()["token_version"] == 2
    assert "token_hash" not in r.json()
    assert post(world_a, "operator", f"signatures/{sig.pk}/revoke/").json()["state"] == "revoked"
    assert post(world_a, "operator", f"signatures/{sig.pk}/revoke/").status_code == 409
    assert post(world_b, "owner", f"signatures/{sig.pk}/resend/").status_code == 404
    assert world_b.client("owner").get(api(world_b, "signatures/")).json()["count"] == 0


@pytest.mark.django_db
def test_audit_events_verify_export(world_a, django_assert_max_num_queries):
    task = _approved(world_a, 2)
    client = world_a.client("auditor")
    with django_assert_max_num_queries(6):
        small = client.get(api(world_a, f"shutdown-tasks/{task.pk}/audit/"))
    big = _approved(world_a, 30)
    with django_assert_max_num_queries(6):
        large = client.get(api(world_a, f"shutdown-tasks/{big.pk}/audit/"))
    assert small.status_code == 200
    assert large.json()["count"] >= small.json()["count"]
    first = small.json()["results"][0]
    assert (first["kind"], first["kind_label"]) == ("approval.submitted", "Submitted for approval")
    verify = world_a.client("auditor").get(api(world_a, f"shutdown-tasks/{task.pk}/audit/verify/")).json()
    assert verify["ok"] is True
    assert world_a.client("operator").get(api(world_a, f"shutdown-tasks/{task.pk}/audit/export/")).status_code == 403
    export = world_a.client("legal").get(api(world_a, f"shutdown-tasks/{task.pk}/audit/export/"))
    assert export.status_code == 200
    assert export.json()["verification"]["ok"] is True
    with scope(agency=world_a.agency):
        assert len(export.json()["events"]) == TaskEvent.objects.filter(task=task).count()
    assert all(e["kind_label"] and e["kind_label"] != e["kind"] for e in export.json()["events"])


@pytest.mark.django_db
def test_inbox_api_across_agencies_and_bulk_approve(world_a, world_b):
    from tests.factories import MembershipFactory

    consultant = world_a.user("legal")
    MembershipFactory(user=consultant, agency=world_b.agency, role="legal")
    for world in (world_a, world_b):
        with scope(agency=world.agency):
            from approvals.services.policy import approval_policy_save

            approval_policy_save(agency=world.agency, name="法务", levels=[{"name": "法务", "role": "legal",
                                                                          "sla_hours": 4}])
    ta, tb = make_task(world_a), make_task(world_b)
    post(world_a, "operator", f"shutdown-tasks/{ta.pk}/submit/")
    post(world_b, "operator", f"shutdown-tasks/{tb.pk}/submit/")
    client = world_a.client("legal")
    inbox = client.get("/api/v1/inbox/").json()
    assert inbox["count"] == 2
    assert {e["agency"] for e in inbox["results"]} == {"alpha-mcn", "beta-mcn"}
    assert world_a.client("auditor").get("/api/v1/inbox/").json()["count"] == 0
    r = client.post("/api/v1/inbox/approve/", {"items": [f"alpha-mcn:{ta.pk}", f"beta-mcn:{tb.pk}",
                                                         f"alpha-mcn:{tb.pk}"], "comment": "统一同意"},
                    format="json")
    assert r.status_code == 200
    assert r.json()["approved"] == 2
    assert r.json()["results"][2]["ok"] is False
    assert client.get("/api/v1/inbox/").json()["count"] == 0
