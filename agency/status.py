"""One state machine for a sub-account's status, used by every channel that changes it: the
API (PATCH/PUT), the edit page, bulk actions, the import and the shutdown tasks.

R9.3: after a shutdown the account cannot be reopened for 180 days. A shut-down account can
therefore not become active, dormant or restricted (nor be sent into a new shutdown) before
its reopen date; the refusal (HTTP 409) names the date from which a reopening can be asked.

The reopen date is known to the deadlines app, above this one: it registers a provider in
its AppConfig.ready() (`reopen_date_provider_register`), so this module imports nothing above.
"""

from collections.abc import Callable
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from agency.exceptions import Conflict
from agency.models import SubAccountStatus as S

# Where a status may go. Leaving "shut down" is a reopening, allowed from the reopen date on.
TRANSITIONS: dict[str, set[str]] = {
    S.ACTIVE: {S.DORMANT, S.RESTRICTED, S.SHUTDOWN_PENDING, S.SHUT_DOWN},
    S.DORMANT: {S.ACTIVE, S.RESTRICTED, S.SHUTDOWN_PENDING, S.SHUT_DOWN},
    S.RESTRICTED: {S.ACTIVE, S.DORMANT, S.SHUTDOWN_PENDING, S.SHUT_DOWN},
    S.SHUTDOWN_PENDING: {S.ACTIVE, S.DORMANT, S.RESTRICTED, S.SHUT_DOWN},
    S.SHUT_DOWN: {S.ACTIVE, S.DORMANT, S.RESTRICTED, S.SHUTDOWN_PENDING},
}
REOPENING = {(S.SHUT_DOWN, to) for to in TRANSITIONS[S.SHUT_DOWN]}

_reopen_date_providers: list[Callable] = []


def reopen_date_provider_register(provider: Callable) -> None:
    """provider(*, agency, sub_account) -> aware datetime | None: the moment a reopening may be asked."""
    if provider not in _reopen_date_providers:
        _reopen_date_providers.append(provider)


def reopen_possible_from(*, agency, sub_account) -> datetime | None:
    dates = [d for p in _reopen_date_providers if (d := p(agency=agency, sub_account=sub_account)) is not None]
    return max(dates) if dates else None


def status_refusal(*, agency, sub_account, old: str, new: str, now: datetime | None = None) -> Conflict | None:
    """Why `sub_account` cannot go from `old` to `new` now (a 409 to raise or to show), or None."""
    if old == new:
        return None
    if new not in TRANSITIONS.get(old, set()):
        return Conflict(_("The status cannot change from “%(old)s” to “%(new)s”.")
                        % {"old": S(old).label, "new": S(new).label}, code="status_transition",
                        details={"status": [old, new]})
    if (old, new) in REOPENING:
        possible_from = reopen_possible_from(agency=agency, sub_account=sub_account)
        if possible_from is not None and possible_from > (now or timezone.now()):
            local = possible_from.astimezone(agency.tz)
            return Conflict(
                _("%(account)s was shut down and cannot be reopened before %(date)s (R9.3); a reopening can be "
                  "requested from %(date)s.") % {"account": sub_account.display_name,
                                                 "date": local.strftime("%Y-%m-%d")},
                code="reopen_blocked",
                details={"status": [old, new], "possible_from": local.isoformat(),
                         "possible_from_date": local.date().isoformat()},
            )
    return None


def status_transition_check(*, agency, sub_account, old: str, new: str, now: datetime | None = None) -> None:
    """Raise the refusal (Conflict, HTTP 409) when the change is not allowed now."""
    refusal = status_refusal(agency=agency, sub_account=sub_account, old=old, new=new, now=now)
    if refusal is not None:
        raise refusal
