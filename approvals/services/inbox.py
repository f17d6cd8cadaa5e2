"""Writes from the approver's inbox, which spans every agency the approver belongs to."""

from django.db import transaction
from django.utils.translation import gettext as _
from django_scopes import scope

from agency.exceptions import DomainError

from ..selectors import inbox_for_user
from .decisions import approval_decide


def approvals_bulk_approve(*, actor, keys: list[str], comment: str, meta: dict) -> list[dict]:
    """Approve each selected inbox entry ("agency-slug:task-id") with one comment.

    Each entry is decided in its own agency scope and its own transaction; an entry that is no
    longer waiting for `actor` (or that a rule refuses) is reported in its result, not fatal.
    `meta` is the client's `ip_address` / `user_agent` (see `services.common.client_meta`)."""
    mine = {f"{e.agency.slug}:{e.task.pk}": e for e in inbox_for_user(actor)}
    results = []
    for key in keys:
        entry = mine.get(key)
        if entry is None:
            results.append({"item": key, "ok": False,
                            "message": _("Not waiting for you any more (decided, withdrawn or not yours).")})
            continue
        with scope(agency=entry.agency):
            try:
                with transaction.atomic():
                    approval_decide(agency=entry.agency, task=entry.task, actor=actor, decision="approve",
                                    comment=comment, **meta)
                results.append({"item": key, "ok": True, "message": ""})
            except DomainError as exc:
                results.append({"item": key, "ok": False, "message": str(exc.message)})
    return results
