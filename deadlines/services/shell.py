"""R9.2 shell transition deadlines: stored when the transition is chosen (before the shutdown).

An account with a large audience stays an empty shell for the policy's months while its
followers move to other platforms; the shutdown is scheduled at the end. This module stores
that end (`shell_transition`) and a follower-migration check-in every interval before it
(`shell_checkin`), each with the agency's reminders. The countdowns of the shutdown itself
(drafts, data, monitoring …) are stored only when the item takes effect (deadlines.py).
"""

from datetime import datetime

from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from deadlines.models import Deadline, DeadlineKind
from deadlines.services.deadlines import reminders_schedule
from notifications.models import OutboundMessage
from rulebook.consequences import _add_months
from rulebook.policy import policy_for

SHELL_KINDS = (DeadlineKind.SHELL_TRANSITION, DeadlineKind.SHELL_CHECKIN)
CHECKIN_LABEL = _("Follower migration check-in")  # stored in English, shown translated ({% trans d.label %})
CHECKIN_NOTE = _(
    "Check how many followers have moved to the other platforms; the account stays an empty shell."
)
END_LABEL = _("Shell transition ends: the shutdown is due")
END_NOTE = _(
    "The account's tier may open from this date; the shutdown's own countdowns start when it takes effect."
)


def _en(text) -> str:
    with translation.override("en"):
        return str(text)


def shell_deadlines_set(
    *, agency, item, started_at: datetime | None, until: datetime | None
) -> list[Deadline]:
    """Replace the item's open shell deadlines: withdraw them (and their pending reminders), then,
    when a transition runs (`until`), store its check-ins and its end with reminders."""
    with transaction.atomic():
        stale = Deadline.objects.filter(item=item, kind__in=SHELL_KINDS, completed_at__isnull=True)
        refs = [f"deadline:{pk}" for pk in stale.values_list("pk", flat=True)]
        if refs:
            OutboundMessage.objects.filter(
                agency=agency, ref__in=refs, status=OutboundMessage.Status.PENDING
            ).update(status=OutboundMessage.Status.CANCELLED)
            stale.delete()
        if until is None:
            return []
        policy = policy_for(agency)
        local_start = started_at.astimezone(agency.tz)
        interval = max(policy.shell_checkin_interval_months, 1)
        def row(kind, label, note, due, data):
            return Deadline(agency=agency, sub_account_id=item.sub_account_id, task_id=item.task_id, item=item,
                            kind=kind, rule="R9.2", label=_en(label), note=_en(note), effective_at=started_at,
                            due_at=due, data=data)

        rows = []
        n = 1
        while (due := _add_months(local_start, n * interval)) < until:
            rows.append(row(DeadlineKind.SHELL_CHECKIN, CHECKIN_LABEL, CHECKIN_NOTE, due, {"checkin": n}))
            n += 1
        rows.append(row(DeadlineKind.SHELL_TRANSITION, END_LABEL, END_NOTE, until, {"months": policy.shell_months}))
        Deadline.objects.bulk_create(rows)
        if any(d.pk is None for d in rows):
            rows = list(Deadline.objects.filter(item=item, kind__in=SHELL_KINDS, completed_at__isnull=True))
        reminders_schedule(agency=agency, deadlines=rows)
    return rows
