"""Audit as data: every state change of a task appends a hash-chained TaskEvent.

`event_record` must be called inside the transaction that makes the change; it locks
the task row so that concurrent writers append one after the other (no forked chain).
Its `kind` is an EventKind (shutdown.models): pages, exports and the API show its label.
"""

import hashlib
import json

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from .models import EventKind, ShutdownTask, TaskEvent


def _canonical(event_fields: dict) -> str:
    return json.dumps(event_fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"), cls=DjangoJSONEncoder)


def event_hash(*, agency_id, task_id, seq, kind, actor_id, actor_label, item_id, ip_address, user_agent, data,
               created_at, prev_hash) -> str:
    payload = _canonical({
        "agency": agency_id, "task": task_id, "seq": seq, "kind": kind, "actor": actor_id,
        "actor_label": actor_label, "item": item_id, "ip": ip_address, "ua": user_agent, "data": data,
        "at": created_at.isoformat(), "prev": prev_hash,
    })
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def event_hash_of(event: TaskEvent) -> str:
    return event_hash(
        agency_id=event.agency_id, task_id=event.task_id, seq=event.seq, kind=event.kind, actor_id=event.actor_id,
        actor_label=event.actor_label, item_id=event.item_id, ip_address=event.ip_address,
        user_agent=event.user_agent, data=event.data, created_at=event.created_at, prev_hash=event.prev_hash,
    )


def event_record(*, agency, task: ShutdownTask, kind: EventKind, actor=None, actor_label: str = "", item=None,
                 data: dict | None = None, ip_address: str | None = None, user_agent: str = "") -> TaskEvent:
    if kind not in EventKind.values:
        raise ValueError(f"Unknown event kind {kind!r}: add it to shutdown.models.EventKind.")
    kind = EventKind(kind).value  # stored (and hashed) as the plain string
    # Serialise appends per task: the lock is held until the caller's transaction ends.
    ShutdownTask.objects.select_for_update().filter(pk=task.pk).values_list("pk", flat=True).first()
    last = TaskEvent.objects.filter(task=task).order_by("-seq").values("seq", "hash").first()
    seq = (last["seq"] + 1) if last else 1
    prev_hash = last["hash"] if last else ""
    data = json.loads(_canonical(data or {}))
    created_at = timezone.now()
    if actor is not None and not actor_label:
        actor_label = str(actor.email)
    event = TaskEvent(
        agency=agency, task=task, item=item, seq=seq, kind=kind, actor=actor, actor_label=actor_label,
        ip_address=ip_address, user_agent=(user_agent or "")[:400], data=data, created_at=created_at,
        prev_hash=prev_hash,
    )
    event.hash = event_hash_of(event)
    event.save()
    return event


def chain_verify(*, task: ShutdownTask) -> dict:
    """Recompute the chain; report the first broken link (or ok)."""
    prev_hash = ""
    count = 0
    for event in TaskEvent.objects.filter(task=task).order_by("seq").iterator():
        count += 1
        expected_seq = count
        if event.seq != expected_seq or event.prev_hash != prev_hash or event.hash != event_hash_of(event):
            return {"ok": False, "events": count, "first_broken_seq": event.seq, "event_id": event.pk}
        prev_hash = event.hash
    return {"ok": True, "events": count, "first_broken_seq": None, "event_id": None}


def events_record_bulk(*, agency, task: ShutdownTask, kind: EventKind, actor=None, actor_label: str = "",
                       rows: list[tuple[int | None, dict]]) -> int:
    """One event per (item id, data) row, appended to the task's chain in a fixed number of
    statements (the task lock, the last link, then batched INSERTs): bulk actions write one
    timeline event per item without a query per item. Call inside the caller's transaction."""
    if kind not in EventKind.values:
        raise ValueError(f"Unknown event kind {kind!r}: add it to shutdown.models.EventKind.")
    if not rows:
        return 0
    kind = EventKind(kind).value
    ShutdownTask.objects.select_for_update().filter(pk=task.pk).values_list("pk", flat=True).first()
    last = TaskEvent.objects.filter(task=task).order_by("-seq").values("seq", "hash").first()
    seq = last["seq"] if last else 0
    prev_hash = last["hash"] if last else ""
    created_at = timezone.now()
    if actor is not None and not actor_label:
        actor_label = str(actor.email)
    events = []
    for item_id, data in rows:
        seq += 1
        event = TaskEvent(agency=agency, task=task, item_id=item_id, seq=seq, kind=kind, actor=actor,
                          actor_label=actor_label, ip_address=None, user_agent="",
                          data=json.loads(_canonical(data or {})), created_at=created_at, prev_hash=prev_hash)
        event.hash = prev_hash = event_hash_of(event)
        events.append(event)
    TaskEvent.objects.bulk_create(events, batch_size=500)
    return len(events)
