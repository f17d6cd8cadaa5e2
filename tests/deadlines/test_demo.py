import os

import pytest
from django.core.management import call_command
from django_scopes import scopes_disabled

from deadlines.models import Deadline
from notifications.models import OutboundMessage
from shutdown.models import ShutdownTask


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
        assert not Deadline.objects.filter(agency__slug="rival-mcn").exists()
