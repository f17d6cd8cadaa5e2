"""Issue 15: “request signatures again” as a bulk action of the task page: a fresh link for every
selected owner who has not answered, the old links void, the others skipped with the reason."""

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scope

from approvals.models import SignatureRequest
from shutdown.models import EventKind, TaskEvent
from shutdown.services.bulk import bulk_run

from .signing_helpers import Phone, links
from .test_signing import approved_task


@pytest.fixture(autouse=True)
def _no_quiet_hours(settings):
    settings.SMS_QUIET_HOURS_START = settings.SMS_QUIET_HOURS_END = 0


@pytest.mark.django_db
def test_request_signatures_again_for_the_selection(world_a):
    task = approved_task(world_a, items=3)
    old = links(world_a, task)
    with scope(agency=world_a.agency):
        first, second, third = SignatureRequest.objects.filter(task=task).order_by("pk")
        SignatureRequest.objects.filter(pk=third.pk).update(state=SignatureRequest.State.SIGNED)
    url = reverse("shutdown:task_bulk", kwargs={"agency_slug": world_a.agency.slug, "pk": task.pk})
    html = (
        world_a.client("admin")
        .get(reverse("shutdown:task_detail", kwargs={"agency_slug": world_a.agency.slug, "pk": task.pk}))
        .content.decode()
    )
    assert "Request signatures again" in html
    response = world_a.client("admin").post(url, {"all_matching": "1", "action": "signatures"})
    assert [str(m) for m in get_messages(response.wsgi_request)][-1] == (
        "2 accounts done, 1 skipped because: the owner has already answered (1)."
    )
    new = links(world_a, task)
    assert new[first.pk] != old[first.pk] and new[second.pk] != old[second.pk]
    assert Phone().get(old[first.pk]).status_code == 404  # the old link stops working
    with scope(agency=world_a.agency):
        assert TaskEvent.objects.filter(task=task, kind=EventKind.SIGNATURE_LINK_RESENT).count() == 2
    # an auditor may not (signatures.manage)
    assert (
        world_a.client("auditor").post(url, {"all_matching": "1", "action": "signatures"}).status_code == 403
    )


@pytest.mark.django_db
def test_request_signatures_again_costs_the_same_queries_for_more_owners(world_a):
    counts = []
    for n in (2, 12):
        task = approved_task(world_a, items=n)
        with scope(agency=world_a.agency), CaptureQueriesContext(connection) as ctx:
            result = bulk_run(
                agency=world_a.agency, task=task, actor=world_a.user("admin"), action="signatures", filters={}
            )
        assert result.done == n
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts
