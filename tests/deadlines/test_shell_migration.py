"""Issue 21 (R9.2): the stored "keep the empty shell until" after a shutdown is removed by a migration."""

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from deadlines.models import Deadline
from notifications.models import OutboundMessage
from shutdown.services.preparation import shell_transition_start
from tests.builders import make_task, only_item
from tests.factories import SubAccountFactory

from .helpers import BARE_TASK, take_effect

pytestmark = pytest.mark.django_db
MIGRATION = importlib.import_module("deadlines.migrations.0007_remove_shell_kept_after_shutdown")


def test_the_contradictory_shell_deadline_after_a_shutdown_goes_with_its_reminders(world_a):
    done_item = only_item(
        make_task(world_a, [SubAccountFactory(agency=world_a.agency, followers=50000)], **BARE_TASK)
    )
    take_effect(world_a.agency, done_item, timezone.now())
    with scope(agency=world_a.agency):  # what the product stored before: a shell kept after the shutdown
        old = Deadline.objects.create(
            agency=world_a.agency,
            sub_account_id=done_item.sub_account_id,
            item=done_item,
            task_id=done_item.task_id,
            kind="shell_transition",
            rule="R9.2",
            label="old",
            effective_at=done_item.effective_at,
            due_at=done_item.effective_at + timedelta(days=90),
        )
        OutboundMessage.objects.create(
            agency=world_a.agency,
            channel="email",
            kind="reminder",
            template_code="deadline_reminder",
            recipient_address="a@example.cn",
            idempotency_key=f"rem:{old.pk}:x",
            ref=f"deadline:{old.pk}",
            send_after=timezone.now() + timedelta(days=80),
        )
    task = make_task(world_a, [SubAccountFactory(agency=world_a.agency, followers=50000)])
    with scope(agency=world_a.agency):
        transition = only_item(task)
        shell_transition_start(agency=world_a.agency, item=transition, actor=None)
    with scopes_disabled():
        MIGRATION.remove_post_shutdown_shell_deadlines(apps, None)
        assert not Deadline.objects.filter(pk=old.pk).exists()
        assert OutboundMessage.objects.get(ref=f"deadline:{old.pk}").status == "cancelled"
        assert Deadline.objects.filter(
            item=transition, kind="shell_transition"
        ).exists()  # a real transition stays
        assert Deadline.objects.filter(
            item=done_item, kind="drafts_expire"
        ).exists()  # the rest of the countdowns
