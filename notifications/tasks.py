"""Thin Celery tasks: ids in, one service call. acks_late (settings) + idempotent services."""

from celery import shared_task
from django_scopes import get_scope

from agency.celery_base import AgencyTask
from notifications.services.delivery import message_deliver, messages_deliver_due


@shared_task(base=AgencyTask, name="notifications.tasks.deliver")
def deliver(*, agency_id: int, message_id: int) -> str:
    return message_deliver(agency=get_scope()["agency"], message_id=message_id)


@shared_task(name="notifications.tasks.messages_sweep", acks_late=True)
def messages_sweep() -> dict:
    """Every minute (beat): deliver every due row of every agency. Platform-level, not per agency."""
    return messages_deliver_due()
