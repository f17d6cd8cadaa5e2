"""The JSON export of a task's hash-chained audit trail, shared by the page and the API."""

from django.utils import timezone

from shutdown.events import chain_verify

from .api.serializers import EventSerializer
from .selectors import task_events


def audit_export(*, agency, task) -> dict:
    """The task, the verification of its chain and every event, ready for a JSON body.

    Read-only; `agency` is the agency the request is scoped to (its slug heads the export).
    Times are written in the agency's zone with their offset (2026-03-02T23:30:00+01:00), whoever
    asks and from where; the hashed event data keeps what was recorded."""
    with timezone.override(agency.tz):
        return {
            "agency": agency.slug,
            "time_zone": agency.time_zone,
            "task": {
                "id": task.pk,
                "title": task.title,
                "state": task.state,
                "content_hash": task.content_hash,
            },
            "exported_at": timezone.localtime(timezone.now()).isoformat(),
            "verification": chain_verify(task=task),
            "events": EventSerializer(task_events(task=task), many=True).data,
        }


def audit_export_filename(*, task) -> str:
    return f"task-{task.pk}-audit.json"
