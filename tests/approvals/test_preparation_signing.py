"""Issue 21 (R9.1, R9.2): the owner's signing page says which preparation phases are done."""

import pytest
from django.test import Client  # noqa: F401  (the helpers open links with their own client)
from django_scopes import scope

from approvals.services.decisions import approval_decide, task_submit
from shutdown.models import PreparationPhase, TaskItem
from shutdown.services.preparation import preparation_mark, shell_transition_start
from shutdown.states import TaskState
from tests.builders import make_task

from .signing_helpers import Phone, links, open_link


@pytest.fixture(autouse=True)
def _no_quiet_hours(settings):
    settings.SMS_QUIET_HOURS_START = settings.SMS_QUIET_HOURS_END = 0


@pytest.mark.django_db
def test_the_signing_page_shows_the_preparation_phases_and_the_shell_transition(world_a):
    task = make_task(world_a, items=1)
    with scope(agency=world_a.agency):
        preparation_mark(
            agency=world_a.agency,
            task=task,
            actor=world_a.user("operator"),
            phase=PreparationPhase.EXPORT_INTERACTION,
            all_items=True,
        )
        item = TaskItem.objects.select_related("task", "sub_account").get(task=task)
        shell_transition_start(agency=world_a.agency, item=item, actor=None)
        task_submit(agency=world_a.agency, task=task, actor=world_a.user("operator"))
        approval_decide(agency=world_a.agency, task=task, actor=world_a.user("owner"), decision="approve")
        task.refresh_from_db()
        assert task.state == TaskState.APPROVED
    path = next(iter(links(world_a, task).values()))
    english = open_link(Phone(), path + "?lang=en")[1].content.decode()
    assert "Preparation before the shutdown (R9.1)" in english
    assert 'Export the last six months of interaction data: <span class="pill ok">done' in english
    assert 'Back up drafts locally: <span class="pill bad">to do' in english
    assert "stays an empty shell until" in english
