"""R5.1: a dormant account needs a login every month for as long as it stays dormant.

The `dormant_login` deadline recurs: when an operator records the login, or when the deadline
passes without one (missed), it is completed and the next one is created a month (the
policy's interval) later, with its reminders. It stops when the account is no longer dormant.
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from agency.exceptions import Conflict
from agency.models import Agency, SubAccountStatus
from deadlines.models import Deadline, DeadlineKind
from deadlines.services.deadlines import reminders_schedule
from notifications.models import OutboundMessage
from rulebook.consequences import _add_months
from rulebook.policy import policy_for


def _next(*, agency, deadline: Deadline, base: datetime) -> Deadline | None:
    if deadline.sub_account.status != SubAccountStatus.DORMANT:
        return None
    months = policy_for(agency).dormant_login_interval_months
    due_at = _add_months(base.astimezone(agency.tz), months)
    following = Deadline.objects.create(
        agency=agency, sub_account=deadline.sub_account, task_id=deadline.task_id, item_id=deadline.item_id,
        kind=deadline.kind, rule=deadline.rule, label=deadline.label, note=deadline.note,
        effective_at=deadline.effective_at, due_at=due_at, data={"previous": deadline.pk})
    reminders_schedule(agency=agency, deadlines=[following])
    return following


def dormant_login_record(*, agency, deadline_id: int, user, logged_in_at: datetime | None = None) -> Deadline | None:
    """An operator records the monthly login: this deadline is done, the next one is created
    (counted from the login). Pending reminders of the done one are cancelled."""
    now = timezone.now()
    logged_in_at = logged_in_at or now
    with transaction.atomic():
        deadline = (Deadline.objects.select_for_update().select_related("sub_account")
                    .get(agency=agency, pk=deadline_id, kind=DeadlineKind.DORMANT_LOGIN))
        if deadline.completed_at is not None:
            raise Conflict(code="already_completed")
        deadline.completed_at = now
        deadline.data = {**deadline.data, "login_at": logged_in_at.isoformat(),
                         "login_by": getattr(user, "email", "")}
        deadline.save(update_fields=["completed_at", "data", "updated_at"])
        OutboundMessage.objects.filter(agency=agency, ref=f"deadline:{deadline.pk}",
                                       status=OutboundMessage.Status.PENDING).update(
            status=OutboundMessage.Status.CANCELLED)
        return _next(agency=agency, deadline=deadline, base=logged_in_at)


def dormant_logins_roll_missed(*, now: datetime | None = None) -> int:
    """Beat: a dormant login deadline that passed without a recorded login is marked missed and
    the next one is created a month after it. Returns how many were rolled."""
    now = now or timezone.now()
    with scopes_disabled():
        agency_ids = set(Deadline.objects.filter(kind=DeadlineKind.DORMANT_LOGIN, completed_at__isnull=True,
                                                 due_at__lte=now).values_list("agency_id", flat=True))
    rolled = 0
    for agency in Agency.objects.filter(pk__in=agency_ids):
        with scope(agency=agency), transaction.atomic():
            for deadline in (Deadline.objects.select_for_update(skip_locked=True).select_related("sub_account")
                             .filter(agency=agency, kind=DeadlineKind.DORMANT_LOGIN, completed_at__isnull=True,
                                     due_at__lte=now)):
                deadline.completed_at = now
                deadline.data = {**deadline.data, "missed": True}
                deadline.save(update_fields=["completed_at", "data", "updated_at"])
                _next(agency=agency, deadline=deadline, base=deadline.due_at)
                rolled += 1
    return rolled
