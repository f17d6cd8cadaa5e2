"""The JSON export of a task's hash-chained audit trail, shared by the page and the API."""

from django.utils import timezone

from shutdown.events import chain_verify

from .api.serializers import EventSerializer
from .selectors import task_events


def audit_export(*, agency, task) -> dict:
    """The task, the verification of its chain and every event, ready for a JSON body.

    Read-only; `agency` is the agency the request is scoped to (its slug heads the export)."""
    return {
        "agency": agency.slug,
        "task": {"id": task.pk, "title": task.title, "state": task.state, "content_hash": task.content_hash},
        "exported_at": timezone.now().isoformat(),
        "verification": chain_verify(task=task),
        "events": EventSerializer(task_events(task=task), many=True).data,
    }


def audit_export_filename(*, task) -> str:
    return f"task-{task.pk}-audit.json"
