"""Two approvers pressing at the same moment, or one pressing twice: exactly one decision.
Real concurrent requests on PostgreSQL (SQLite serialises whole transactions instead)."""

import threading

import pytest
from django.db import connection
from django_scopes import scope

from approvals.models import ApprovalDecision, SignatureRequest
from tests.builders import make_task
from tests.conftest import requires_postgres
from tests.factories import MembershipFactory, UserFactory

from .helpers import api


def _race(clients_and_paths, body=None):
    barrier = threading.Barrier(len(clients_and_paths))
    statuses = [None] * len(clients_and_paths)

    def run(index, client, path):
        try:
            barrier.wait(timeout=10)
            statuses[index] = client.post(path, body or {"comment": "并发"}, format="json").status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c, p)) for i, (c, p) in enumerate(clients_and_paths)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return sorted(statuses)


def _policy_any_legal(world):
    from approvals.services.policy import approval_policy_save

    with scope(agency=world.agency):
        approval_policy_save(agency=world.agency, name="任一法务", levels=[
            {"name": "法务", "role": "legal", "mode": "any", "sla_hours": 24},
            {"name": "财务", "role": "finance", "mode": "any", "sla_hours": 24}])


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_approvers_at_once_record_one_decision(world_a):
    _policy_any_legal(world_a)
    others = []
    for i in range(3):
        user = UserFactory(email=f"legal{i}@alpha-mcn.test")
        MembershipFactory(user=user, agency=world_a.agency, role="legal")
        others.append(user)
    task = make_task(world_a)
    assert world_a.client("admin").post(api(world_a, f"shutdown-tasks/{task.pk}/submit/"), {},
                                        format="json").status_code == 200
    clients = [world_a.client("legal")]
    for user in others:
        from rest_framework.test import APIClient

        c = APIClient()
        c.force_login(user)
        clients.append(c)
    path = api(world_a, f"shutdown-tasks/{task.pk}/approve/")
    assert _race([(c, path) for c in clients]) == [200, 409, 409, 409]
    with scope(agency=world_a.agency):
        assert ApprovalDecision.objects.filter(task=task).count() == 1
        assert task.events.filter(kind="approval.approve").count() == 1


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_a_double_click_records_one_decision(world_a):
    _policy_any_legal(world_a)
    task = make_task(world_a)
    world_a.client("admin").post(api(world_a, f"shutdown-tasks/{task.pk}/submit/"), {}, format="json")
    path = api(world_a, f"shutdown-tasks/{task.pk}/approve/")
    c1, c2 = world_a.client("legal"), world_a.client("legal")
    assert _race([(c1, path), (c2, path)]) == [200, 409]
    with scope(agency=world_a.agency):
        assert ApprovalDecision.objects.filter(task=task).count() == 1


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_a_code_confirmed_twice_at_once_signs_once(world_a, settings):
    import copy

    from .signing_helpers import Phone, links, open_link, sent_code

    settings.SMS_QUIET_HOURS_START = settings.SMS_QUIET_HOURS_END = 0
    task = make_task(world_a, items=1)
    world_a.client("operator").post(api(world_a, f"shutdown-tasks/{task.pk}/submit/"), {}, format="json")
    world_a.client("owner").post(api(world_a, f"shutdown-tasks/{task.pk}/approve/"), {}, format="json")
    with scope(agency=world_a.agency):
        req = SignatureRequest.objects.get(task=task)
    path = links(world_a, task)[req.pk]
    owner = Phone()
    page, _first = open_link(owner, path)
    owner.post(page, {"step": "code", "channel": "sms"})
    code = sent_code(world_a, req.pk)
    twin = Phone()  # the same phone, two taps at once: two clients sharing the signing session
    twin.cookies = copy.deepcopy(owner.cookies)
    statuses = _race([(owner, page), (twin, page)], body={"step": "confirm", "code": code})
    assert sorted(statuses) == [200, 410]
    with scope(agency=world_a.agency):
        assert SignatureRequest.objects.get(task=task).state == "signed"
        assert task.events.filter(kind="signature.signed").count() == 1


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_a_double_submit_opens_one_round(world_a):
    from approvals.models import ApprovalRound

    task = make_task(world_a)
    path = api(world_a, f"shutdown-tasks/{task.pk}/submit/")
    assert _race([(world_a.client("operator"), path), (world_a.client("admin"), path)]) == [200, 409]
    with scope(agency=world_a.agency):
        assert ApprovalRound.objects.filter(task=task).count() == 1


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_reminders_at_once_send_one(world_a):
    """催办 pressed twice at the same moment: one reminder, the other told when it may remind again."""
    from notifications.models import OutboundMessage

    _policy_any_legal(world_a)
    task = make_task(world_a)
    world_a.client("admin").post(api(world_a, f"shutdown-tasks/{task.pk}/submit/"), {}, format="json")
    path = api(world_a, f"shutdown-tasks/{task.pk}/approval/urge/")
    assert _race([(world_a.client("admin"), path), (world_a.client("operator"), path)]) == [200, 409]
    with scope(agency=world_a.agency):
        assert task.events.filter(kind="approval.urged").count() == 1
        assert OutboundMessage.objects.filter(kind="approval_urged", channel="inapp").count() == 1


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_hand_over_and_approve_at_once_leave_one_outcome(world_a):
    """The approver hands over in one tab and approves in another: one of the two happens."""
    _policy_any_legal(world_a)
    task = make_task(world_a)
    world_a.client("admin").post(api(world_a, f"shutdown-tasks/{task.pk}/submit/"), {}, format="json")
    base = api(world_a, f"shutdown-tasks/{task.pk}/")
    barrier = threading.Barrier(2)
    statuses = {}

    def run(name, path, body):
        try:
            barrier.wait(timeout=10)
            statuses[name] = world_a.client("legal").post(path, body, format="json").status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=("hand_over", base + "approval/hand-over/",
                                                  {"user": world_a.user("owner").pk})),
               threading.Thread(target=run, args=("approve", base + "approve/", {"comment": "ok"}))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(statuses.values()) == [200, 409]
    with scope(agency=world_a.agency):
        handed = task.events.filter(kind="approval.handed_over").count()
        approved = task.events.filter(kind="approval.approve").count()
    assert handed + approved == 1
