"""Each write of the approvals app lives in one service; the page and the API give the same answer."""

import json
from datetime import datetime, timedelta

import pytest
from django.utils import timezone
from django_scopes import scope

from agency.exceptions import Conflict
from approvals.models import ApprovalLevel, ApprovalPolicy, ApprovalStage, Delegation
from approvals.services.delegations import delegation_create, delegation_revoke
from approvals.services.inbox import approvals_bulk_approve
from approvals.services.policy import approval_policy_delete
from tests.builders import make_task

from .helpers import api, three_levels


def page(world, path):
    return f"/a/{world.agency.slug}/approvals/{path}"


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- approval policy: delete -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_policy_delete_from_the_page_and_the_api(world_a):
    policy = three_levels(world_a)
    assert world_a.client("legal").post(page(world_a, f"policy/{policy.pk}/delete/")).status_code == 403
    r = world_a.client("owner").post(page(world_a, f"policy/{policy.pk}/delete/"))
    assert r.status_code == 302
    with scope(agency=world_a.agency):
        assert not ApprovalPolicy.objects.exists() and not ApprovalLevel.objects.exists()
    assert world_a.client("owner").post(page(world_a, f"policy/{policy.pk}/delete/")).status_code == 404

    policy = three_levels(world_a, strategy="dormant")
    assert world_a.client("legal").delete(api(world_a, f"approval-policies/{policy.pk}/")).status_code == 403
    assert world_a.client("admin").delete(api(world_a, f"approval-policies/{policy.pk}/")).status_code == 204
    with scope(agency=world_a.agency):
        assert not ApprovalPolicy.objects.exists() and not ApprovalLevel.objects.exists()


@pytest.mark.django_db
def test_policy_delete_service_keeps_to_its_agency_and_tolerates_a_gone_policy(world_a, world_b):
    policy_a, policy_b = three_levels(world_a), three_levels(world_b)
    with scope(agency=world_b.agency):
        approval_policy_delete(agency=world_b.agency, policy=policy_a)  # not beta's: nothing happens
    with scope(agency=world_a.agency):
        assert ApprovalPolicy.objects.filter(pk=policy_a.pk).exists()
        approval_policy_delete(agency=world_a.agency, policy=policy_a)
        approval_policy_delete(agency=world_a.agency, policy=policy_a)  # already gone: no error
        assert not ApprovalPolicy.objects.exists()
    with scope(agency=world_b.agency):
        assert ApprovalPolicy.objects.filter(pk=policy_b.pk).exists()


# --- delegations: revoke -----------------------------------------------------------------------------------


def _delegation(world) -> Delegation:
    now = timezone.now()
    with scope(agency=world.agency):
        return delegation_create(agency=world.agency, delegator=world.user("legal"), delegate=world.user("finance"),
                                 starts_at=now, ends_at=now + timedelta(days=2), reason="出差",
                                 actor=world.user("legal"))


def _revoked(world, delegation) -> bool:
    with scope(agency=world.agency):
        return Delegation.objects.get(pk=delegation.pk).revoked_at is not None


@pytest.mark.django_db
def test_only_the_delegator_or_an_administrator_may_revoke_same_message_on_page_and_api(world_a):
    delegation = _delegation(world_a)
    delegations_page = page(world_a, "delegations/")
    # operator may decide (reaches both views) but is neither the delegator nor an administrator
    r = world_a.client("operator").post(page(world_a, f"delegations/{delegation.pk}/revoke/"), follow=True,
                                        HTTP_REFERER=delegations_page)
    assert r.status_code == 200 and r.redirect_chain[0][1] == 302
    page_messages = messages_of(r)
    r = world_a.client("operator").delete(api(world_a, f"delegations/{delegation.pk}/"))
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_allowed"
    assert page_messages == [r.json()["error"]["message"]]
    assert not _revoked(world_a, delegation)

    # the delegator, from the page
    r = world_a.client("legal").post(page(world_a, f"delegations/{delegation.pk}/revoke/"))
    assert r.status_code == 302 and _revoked(world_a, delegation)
    # again: already revoked, on both
    r = world_a.client("legal").post(page(world_a, f"delegations/{delegation.pk}/revoke/"), follow=True,
                                     HTTP_REFERER=delegations_page)
    page_messages = messages_of(r)
    r = world_a.client("legal").delete(api(world_a, f"delegations/{delegation.pk}/"))
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_revoked"
    assert page_messages == [r.json()["error"]["message"]]


@pytest.mark.django_db
@pytest.mark.parametrize("via", ["page", "api"])
def test_an_administrator_may_revoke_somebody_elses_delegation(world_a, via):
    delegation = _delegation(world_a)
    if via == "page":
        r = world_a.client("admin").post(page(world_a, f"delegations/{delegation.pk}/revoke/"))
        assert r.status_code == 302
    else:
        r = world_a.client("owner").delete(api(world_a, f"delegations/{delegation.pk}/"))
        assert r.status_code == 200 and r.json()["revoked_at"]
    assert _revoked(world_a, delegation)


@pytest.mark.django_db
def test_delegation_revoke_service_holds_the_rule(world_a):
    delegation = _delegation(world_a)
    with scope(agency=world_a.agency):
        with pytest.raises(Conflict) as exc:
            delegation_revoke(agency=world_a.agency, delegation=delegation, actor=world_a.user("finance"))
        assert exc.value.code == "not_allowed"
        assert Delegation.objects.get(pk=delegation.pk).revoked_at is None
        revoked = delegation_revoke(agency=world_a.agency, delegation=delegation, actor=world_a.user("admin"))
    assert revoked.revoked_at is not None


# --- inbox: bulk approve -----------------------------------------------------------------------------------


def _submitted(world, n):
    three_levels(world)
    tasks = [make_task(world, title=f"任务{i}") for i in range(n)]
    for t in tasks:
        assert world.client("admin").post(api(world, f"shutdown-tasks/{t.pk}/submit/"), {},
                                          format="json").status_code == 200
    return tasks


def _first_level_decided(world, task) -> bool:
    with scope(agency=world.agency):
        return ApprovalStage.objects.get(task=task, position=1).state != ApprovalStage.State.OPEN


@pytest.mark.django_db
def test_bulk_approve_from_the_page_and_the_api(world_a):
    page_task, api_task, untouched = _submitted(world_a, 3)
    client = world_a.client("operator")
    slug = world_a.agency.slug
    bogus = f"{slug}:999999"

    r = client.post("/inbox/", {"items": [f"{slug}:{page_task.pk}", bogus], "comment": "同意"}, follow=True)
    assert r.status_code == 200
    page_messages = messages_of(r)
    r = client.post("/api/v1/inbox/approve/", {"items": [f"{slug}:{api_task.pk}", bogus], "comment": "同意"},
                    format="json")
    assert r.status_code == 200 and r.json()["approved"] == 1
    refused = r.json()["results"][1]
    assert refused["ok"] is False and f"{bogus}: {refused['message']}" in page_messages

    assert _first_level_decided(world_a, page_task) and _first_level_decided(world_a, api_task)
    assert not _first_level_decided(world_a, untouched)
    assert [e.task.pk for e in client.get("/inbox/").context["entries"]] == [untouched.pk]


@pytest.mark.django_db
def test_bulk_approve_service_reports_per_entry(world_a):
    (task,) = _submitted(world_a, 1)
    key = f"{world_a.agency.slug}:{task.pk}"
    meta = {"ip_address": "127.0.0.1", "user_agent": "pytest"}
    results = approvals_bulk_approve(actor=world_a.user("operator"), keys=[key, key], comment="好", meta=meta)
    assert [r["ok"] for r in results] == [True, False]
    assert approvals_bulk_approve(actor=world_a.user("auditor"), keys=[key], comment="", meta=meta)[0]["ok"] is False


# --- audit export ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_page_and_the_api_export_the_same_audit_trail(world_a):
    task = make_task(world_a)
    world_a.client("operator").post(api(world_a, f"shutdown-tasks/{task.pk}/submit/"), {}, format="json")
    world_a.client("owner").post(api(world_a, f"shutdown-tasks/{task.pk}/approve/"), {"comment": "同意"},
                                 format="json")
    client = world_a.client("legal")
    from_page = client.get(page(world_a, f"tasks/{task.pk}/audit/export.json"))
    from_api = client.get(api(world_a, f"shutdown-tasks/{task.pk}/audit/export/"))
    assert from_page.status_code == from_api.status_code == 200
    assert from_page["Content-Disposition"] == from_api["Content-Disposition"] == \
        f'attachment; filename="task-{task.pk}-audit.json"'
    page_body, api_body = json.loads(from_page.content), from_api.json()
    for body in (page_body, api_body):
        assert timezone.is_aware(datetime.fromisoformat(body.pop("exported_at")))
    assert page_body == api_body
    assert page_body["agency"] == world_a.agency.slug and page_body["task"]["id"] == task.pk
    assert page_body["verification"]["ok"] is True and len(page_body["events"]) >= 2


# --- no writes left in the entry points ---------------------------------------------------------------------


def test_approval_views_and_api_views_do_not_write_to_the_database():
    import re
    from pathlib import Path

    import approvals

    root = Path(approvals.__file__).parent
    write = re.compile(r"\.(save|delete|update|create|bulk_create|get_or_create|update_or_create)\(")
    offenders = [f"{path.relative_to(root)}:{n}: {line.strip()}"
                 for folder in ("views", "api") for path in sorted((root / folder).glob("*.py"))
                 for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
                 if write.search(line)]
    assert offenders == [], "writes belong in approvals/services/: " + "; ".join(offenders)
