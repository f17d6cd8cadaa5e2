import os

import pytest
from django.core.management import call_command
from django_scopes import scopes_disabled

from deadlines.models import Deadline
from notifications.models import OutboundMessage
from shutdown.models import ShutdownTask, TaskItem


@pytest.mark.django_db
def test_demo_carries_a_task_to_execution_with_deadlines_and_reminders(settings):
    settings.DEBUG = True
    with open(os.devnull, "w") as devnull:
        call_command("seed_demo", accounts=60, stdout=devnull)
        call_command("seed_demo", accounts=60, stdout=devnull)  # idempotent
    with scopes_disabled():
        executing = ShutdownTask.objects.filter(agency__slug="demo-mcn", state__in=["executing", "done"])
        assert executing.count() == 1
        deadlines = Deadline.objects.filter(agency__slug="demo-mcn")
        assert deadlines.filter(kind="reopen_blocked").count() >= 1
        assert deadlines.filter(kind="drafts_expire").count() == deadlines.filter(kind="reopen_blocked").count()
        assert OutboundMessage.objects.filter(agency__slug="demo-mcn", kind="reminder").exists()
        # only the shutdown demo's shell transition (R9.2) stores deadlines in the other agency
        assert not Deadline.objects.filter(agency__slug="rival-mcn").exclude(
            kind__in=["shell_checkin", "shell_transition"]).exists()


@pytest.mark.django_db
def test_demo_shows_a_shell_transition_and_a_tier_waiting_for_its_preparation(settings):
    """Issue 21: one account in a shell transition (R9.2), one tier waiting for its checklist (R9.1)."""
    from django.test import Client
    from django.urls import reverse

    from accounts.models import User
    from shutdown.services.preparation import next_tier_waiting

    settings.DEBUG = True
    with open(os.devnull, "w") as devnull:
        call_command("seed_demo", accounts=60, stdout=devnull)
    with scopes_disabled():
        shell = TaskItem.objects.filter(agency__slug="demo-mcn", shell_transition_until__isnull=False)
        assert shell.count() == 1
        assert Deadline.objects.filter(item=shell.get(), kind="shell_checkin").count() == 2
        task = ShutdownTask.objects.get(agency__slug="demo-mcn", state="executing")
        waiting = next_tier_waiting(agency=task.agency, task=task)
        assert any("R9.1" in reason for reason in waiting)
        operator = User.objects.get(email="operator@demo-mcn.cn")
    client = Client()
    client.force_login(operator)
    page = client.get(reverse("shutdown:task_detail", kwargs={"agency_slug": "demo-mcn", "pk": task.pk}),
                      HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "准备工作（R9.1）尚未完成" in page
