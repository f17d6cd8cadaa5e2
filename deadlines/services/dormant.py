"""R5.1: a dormant account needs a login every month for as long as it stays dormant.

The `dormant_login` deadline recurs: when an operator records the login, or when the deadline
passes without one (missed), it is completed and the next one is created a month (the
policy's interval) later, with its reminders. It stops when the account is no longer dormant.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scope, scopes_disabled

from agency.exceptions import Conflict, DomainValidationError
from agency.models import Agency, SubAccountStatus
from agency.timezones import local_format
from deadlines.models import Deadline, DeadlineKind
from deadlines.services.deadlines import reminders_schedule
from notifications.models import OutboundMessage
from rulebook.consequences import _add_months
from rulebook.policy import policy_for
from shutdown.events import event_record
from shutdown.models import EventKind


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


@dataclass(frozen=True)
class DormantLogin:
    done: Deadline
    next: Deadline | None  # None once the account is no longer dormant


NOTE_MAX = 300


def _record_event(*, agency, deadline: Deadline, kind, following: Deadline | None, actor=None, data: dict) -> None:
    if deadline.task_id is None:
        return
    event_record(agency=agency, task=deadline.task, kind=kind, actor=actor,
                 actor_label="" if actor else "system", item=deadline.item,
                 data={"account": deadline.sub_account.display_name, "due_at": deadline.due_at.isoformat(),
                       **data, "next_due_at": following.due_at.isoformat() if following else None})


def dormant_login_record(*, agency, deadline_id: int, user, logged_in_at: datetime | None = None,
                         note: str = "") -> DormantLogin:
    """An operator records the monthly login: this deadline is done, the next one is created
    (counted from the login). Pending reminders of the done one are cancelled; the task's audit
    trail says who recorded it, when the login happened and the note.

    Refused with a clear message (nothing changes): a login in the future, a login before the
    account went dormant, a deadline already done or missed, a note over 300 characters."""
    now = timezone.now()
    logged_in_at = logged_in_at or now
    note = (note or "").strip()
    errors = {}
    if timezone.is_naive(logged_in_at):
        raise ValueError("logged_in_at must be aware")
    if logged_in_at > now + timedelta(minutes=5):
        errors["logged_in_at"] = [_("The login cannot be in the future.")]
    if len(note) > NOTE_MAX:
        errors["note"] = [_("Keep the note under %(n)s characters.") % {"n": NOTE_MAX}]
    with transaction.atomic():
        deadline = (Deadline.objects.select_for_update(of=("self",)).select_related("sub_account", "task", "item")
                    .get(agency=agency, pk=deadline_id, kind=DeadlineKind.DORMANT_LOGIN))
        if deadline.completed_at is not None:
            raise Conflict(_("This login was already recorded or missed; record the login on the next one."),
                           code="already_completed")
        if logged_in_at < deadline.effective_at:
            errors["logged_in_at"] = [_("The login cannot be before the account went dormant (%(d)s).")
                                      % {"d": local_format(deadline.effective_at, agency)}]
        if errors:
            raise DomainValidationError(_("The login was not recorded."), details=errors)
        deadline.completed_at = now
        deadline.data = {**deadline.data, "login_at": logged_in_at.isoformat(),
                         "login_by": getattr(user, "email", ""), "login_by_id": getattr(user, "pk", None),
                         "login_note": note}
        deadline.save(update_fields=["completed_at", "data", "updated_at"])
        OutboundMessage.objects.filter(agency=agency, ref=f"deadline:{deadline.pk}",
                                       status=OutboundMessage.Status.PENDING).update(
            status=OutboundMessage.Status.CANCELLED)
        following = _next(agency=agency, deadline=deadline, base=logged_in_at)
        _record_event(agency=agency, deadline=deadline, kind=EventKind.DORMANT_LOGIN_RECORDED, following=following,
                      actor=user, data={"logged_in_at": logged_in_at.isoformat(), "note": note})
        return DormantLogin(done=deadline, next=following)


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
            for deadline in (Deadline.objects.select_for_update(skip_locked=True, of=("self",))
                             .select_related("sub_account", "task", "item")
                             .filter(agency=agency, kind=DeadlineKind.DORMANT_LOGIN, completed_at__isnull=True,
                                     due_at__lte=now)):
                deadline.completed_at = now
                deadline.data = {**deadline.data, "missed": True}
                deadline.save(update_fields=["completed_at", "data", "updated_at"])
                following = _next(agency=agency, deadline=deadline, base=deadline.due_at)
                _record_event(agency=agency, deadline=deadline, kind=EventKind.DORMANT_LOGIN_MISSED,
                              following=following, data={})
                rolled += 1
    return rolled
