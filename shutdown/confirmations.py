"""Irreversible actions (start execution or a tier, mark items done, cancel a task) proceed only
from their confirmation page: it shows how many accounts, which consequences and dates follow,
and what cannot be undone, and its form carries a signed token naming the action, the task, the
target and the member. A POST without a valid token is sent to the confirmation page instead.

Apps above shutdown (approvals: cancel) check the same token with `confirmation_valid`."""

from datetime import datetime

from django.core import signing
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rulebook.consequences import consequence_facts, consequences_for_facts

SALT = "shutdown.confirmations"
MAX_AGE_SECONDS = 3600
FIELD = "confirmation"

# action → (what it is, what cannot be undone)
IRREVERSIBLE = {
    "execute": (
        _("Start execution (the first tier opens)"),
        _(
            "Once execution starts the task can no longer be cancelled or edited, and the accounts of the "
            "first tier are submitted to the platforms."
        ),
    ),
    "tier_start": (
        _("Open this tier"),
        _(
            "The accounts of this tier are submitted to the platforms; an open tier cannot be closed "
            "again without listing its failures."
        ),
    ),
    "done": (
        _("Mark the account done"),
        _(
            "A done account cannot be reopened for %(reopen)s days (R9.3); its deadlines start counting from "
            "the effective time and are reminded by email and SMS."
        ),
    ),
    "receipts": (
        _("Mark the accounts of the receipts file done"),
        _(
            "Done accounts cannot be reopened for %(reopen)s days (R9.3); their deadlines start counting from "
            "the effective times in the file and are reminded by email and SMS."
        ),
    ),
    "cancel": (
        _("Cancel the task"),
        _(
            "A cancelled task cannot be reopened: its approval round closes, the owners' signing links stop "
            "working and its accounts are freed for another task."
        ),
    ),
}


def confirmation_token(*, user, task_id: int, action: str, target: int | str = "") -> str:
    return signing.dumps(
        {"u": user.pk, "t": task_id, "a": action, "x": str(target)}, salt=SALT, compress=True
    )


def confirmation_valid(data, *, user, task_id: int, action: str, target: int | str = "") -> bool:
    """The POST `data` comes from this action's confirmation form, for this member, recently."""
    token = (data or {}).get(FIELD) or ""
    try:
        value = signing.loads(token, salt=SALT, max_age=MAX_AGE_SECONDS)
    except signing.BadSignature:
        return False
    return value == {"u": user.pk, "t": task_id, "a": action, "x": str(target)}


def consequences_summary(*, agency, task, items, effective_at: datetime | None = None) -> list[dict]:
    """The consequences of these items taking effect at `effective_at` (now by default), grouped:
    [{"rule", "label", "accounts", "first", "last", "provisional", "note"}] ordered by the first date.
    `items` carry their sub_account (select_related); equal facts are computed once."""
    effective_at = effective_at or timezone.now()
    groups: dict[tuple, dict] = {}
    cache: dict = {}
    for item in items:
        facts = consequence_facts(
            agency=agency,
            sub_account=item.sub_account,
            strategy=task.strategy,
            effective_at=item.effective_at or effective_at,
        )
        if facts not in cache:
            cache[facts] = consequences_for_facts(agency=agency, facts=facts)
        for c in cache[facts]:
            key = (c.kind, str(c.label))
            row = groups.get(key)
            if row is None:
                row = groups[key] = {
                    "rule": c.rule,
                    "label": str(c.label),
                    "note": str(c.note),
                    "accounts": 0,
                    "first": c.due_at,
                    "last": c.due_at,
                    "provisional": False,
                }
            row["accounts"] += 1
            row["first"], row["last"] = min(row["first"], c.due_at), max(row["last"], c.due_at)
            row["provisional"] = row["provisional"] or c.provisional
    return sorted(groups.values(), key=lambda r: r["first"])
