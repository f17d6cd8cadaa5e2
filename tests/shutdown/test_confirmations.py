"""Issue 15: irreversible actions (start execution or a tier, mark done, cancel) proceed only from
a confirmation page saying how many accounts, which consequences and dates, what cannot be undone;
afterwards the message says what is next."""

from django.contrib.messages import get_messages
from django.urls import reverse

from shutdown.models import Tier
from shutdown.states import TaskState
from tests.builders import make_task
from tests.factories import SubAccountFactory

from .helpers import approve, clean, run_precheck


def url(world, name, **kwargs):
    return reverse(f"shutdown:{name}", kwargs={"agency_slug": world.agency.slug, **kwargs})


def last_message(response) -> str:
    return [str(m) for m in get_messages(response.wsgi_request)][-1]


def approved_task(world, n=4):
    accounts = [
        SubAccountFactory(
            agency=world.agency,
            **clean(followers=20000 if i == 0 else 100, unwithdrawn_earnings=50 if i == 1 else 0),
        )
        for i in range(n)
    ]
    return approve(
        world, run_precheck(world, make_task(world, accounts, tier_rule="batch_size", batch_size=2))
    )


def test_start_execution_only_from_the_confirmation_page(world_a):
    task = approved_task(world_a)
    client = world_a.client("operator")
    html = client.get(url(world_a, "task_detail", pk=task.pk)).content.decode()
    assert url(world_a, "confirm", pk=task.pk, action="execute") in html
    # a bare POST (a stale form, a script) does not start anything: it is sent to the confirmation
    response = client.post(url(world_a, "task_action", pk=task.pk, action="execute"))
    assert response["Location"] == url(world_a, "confirm", pk=task.pk, action="execute")
    task.refresh_from_db()
    assert task.state == TaskState.APPROVED
    page = client.get(response["Location"])
    html = page.content.decode()
    assert page.context["accounts"] == 2  # the first tier of two
    assert "This cannot be undone." in html
    for rule in ("R2.1", "R3.1", "R9.3"):  # consequences with dates
        assert rule in html, rule
    labels = {c["rule"]: c for c in page.context["consequences"]}
    assert labels["R9.3"]["accounts"] == 2
    # R9.2's shell is kept *before* a shutdown (a transition), never announced as a consequence of it
    assert "R9.2" not in labels
    # a token of another member, task or action does not count
    other = client.get(url(world_a, "confirm", pk=task.pk, action="cancel"))
    assert other.status_code == 403  # operators may not cancel
    forged = client.post(url(world_a, "task_action", pk=task.pk, action="execute"), {"confirmation": "x:y:z"})
    assert forged["Location"].endswith("/confirm/execute/")
    response = client.post(
        url(world_a, "task_action", pk=task.pk, action="execute"), {"confirmation": page.context["token"]}
    )
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.state == TaskState.EXECUTING
    assert (
        "Next: shut the accounts of tier 1 down on the platforms, then import the platform receipts"
        in last_message(response)
    )


def test_open_a_tier_from_its_confirmation(world_a):
    task = approved_task(world_a)
    client = world_a.client("operator")
    token = client.get(url(world_a, "confirm", pk=task.pk, action="execute")).context["token"]
    client.post(url(world_a, "task_action", pk=task.pk, action="execute"), {"confirmation": token})
    with world_a.scope():
        first, second = Tier.objects.filter(task=task).order_by("position")
        first_items = list(first.items.all())
    for item in first_items:
        page = client.get(url(world_a, "confirm", pk=task.pk, action="done") + f"?item={item.pk}")
        assert page.context["accounts"] == 1
        client.post(
            url(world_a, "task_action", pk=task.pk, action="done"),
            {"item": item.pk, "confirmation": page.context["token"], "receipt_number": "R"},
        )
    html = client.get(url(world_a, "task_detail", pk=task.pk)).content.decode()
    assert url(world_a, "confirm", pk=task.pk, action="tier_start") + f"?tier={second.pk}" in html
    page = client.get(url(world_a, "confirm", pk=task.pk, action="tier_start") + f"?tier={second.pk}")
    assert page.context["accounts"] == 2
    # the token names the tier: it does not open another one
    response = client.post(
        url(world_a, "task_action", pk=task.pk, action="tier_start"),
        {"tier": first.pk, "confirmation": page.context["token"]},
    )
    assert response["Location"].endswith(f"/confirm/tier_start/?tier={first.pk}")
    response = client.post(
        url(world_a, "task_action", pk=task.pk, action="tier_start"),
        {"tier": second.pk, "confirmation": page.context["token"]},
    )
    second.refresh_from_db()
    assert second.state == Tier.State.OPEN
    assert last_message(response).startswith("Tier opened. Next: shut the accounts of tier 2 down")


def test_cancel_only_from_its_confirmation(world_a):
    task = make_task(world_a)
    client = world_a.client("owner")
    cancel = reverse(
        "approvals:task_action",
        kwargs={"agency_slug": world_a.agency.slug, "pk": task.pk, "action": "cancel"},
    )
    response = client.post(cancel, {"comment": "不做了"})
    assert response["Location"] == url(world_a, "confirm", pk=task.pk, action="cancel")
    task.refresh_from_db()
    assert task.state == TaskState.READY
    page = client.get(response["Location"])
    html = page.content.decode()
    assert "A cancelled task cannot be reopened" in html
    assert 'name="comment"' in html
    response = client.post(cancel, {"comment": "不做了", "confirmation": page.context["token"]})
    task.refresh_from_db()
    assert task.state == TaskState.CANCELLED
    assert last_message(response) == "The task was cancelled. Its accounts are free for another task."


def test_confirmation_pages_of_another_agency_are_404(world_a, world_b):
    task = approved_task(world_a)
    for action in ("execute", "cancel"):
        assert (
            world_b.client("owner").get(url(world_a, "confirm", pk=task.pk, action=action)).status_code == 404
        )
    assert (
        world_a.client("owner").get(url(world_a, "confirm", pk=task.pk, action="nonsense")).status_code == 404
    )


def test_the_confirmation_says_when_execution_cannot_start_yet(world_a, monkeypatch):
    from shutdown import gates

    monkeypatch.setattr(gates, "EXECUTION_GATES", [lambda *, agency, task: "2 owners have not signed yet."])
    task = approved_task(world_a)
    page = world_a.client("operator").get(url(world_a, "confirm", pk=task.pk, action="execute"))
    html = page.content.decode()
    assert "Execution cannot start yet:" in html and "2 owners have not signed yet." in html
    assert 'id="confirm-submit" disabled' in html
