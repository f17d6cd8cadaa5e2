"""The agency's sign-in policy and the step-up checks that approvals and deadlines call.

Policy (in Agency.settings): `mfa_required_roles` (default owner, admin, legal, finance) and
`password_login_allowed` (default true; off only makes sense with an identity provider linked).

Step-up: approving, rejecting, changing an approval policy, reminder rules or the deadline
policy, revealing personal data and creating an API token need a second-factor check within
the last few minutes (accounts.mfa.step_up_seconds) when the user has a second factor, and
always when the agency requires one for the user's role (then they must enrol first).
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from rest_framework import exceptions

from accounts.mfa import has_second_factor, second_factor_verify, step_up_is_fresh
from accounts.roles import Role

DEFAULT_MFA_ROLES = [Role.OWNER.value, Role.ADMIN.value, Role.LEGAL.value, Role.FINANCE.value]
STEP_UP_HEADER = "X-Second-Factor"


def mfa_required_roles(agency) -> list[str]:
    roles = (agency.settings or {}).get("mfa_required_roles")
    return list(DEFAULT_MFA_ROLES if roles is None else roles)


def mfa_required_for(agency, role: str) -> bool:
    return role in mfa_required_roles(agency)


def password_login_allowed(agency) -> bool:
    return bool((agency.settings or {}).get("password_login_allowed", True))


def agency_security_policy_update(*, agency, mfa_roles: list[str], password_login: bool) -> None:
    data = dict(agency.settings or {})
    data["mfa_required_roles"] = [r for r in Role.values if r in set(mfa_roles)]
    data["password_login_allowed"] = bool(password_login)
    agency.settings = data
    agency.save(update_fields=["settings"])


def enrolment_needed(request, *, agency, role: str) -> bool:
    """The agency requires a second factor for this role and the user has none."""
    return mfa_required_for(agency, role) and not has_second_factor(request.user)


def step_up_needed(request, *, agency, role: str) -> bool:
    if enrolment_needed(request, agency=agency, role=role):
        return True
    return has_second_factor(request.user) and not step_up_is_fresh(request)


def _back_to(request) -> str:
    referer = request.headers.get("referer") or ""
    host = request.get_host()
    if referer and (f"//{host}/" in referer):
        return "/" + referer.split(f"//{host}/", 1)[1]
    return request.get_full_path()


def enrolment_redirect(request, *, agency) -> HttpResponseRedirect:
    messages.warning(request, _("%(agency)s requires a second factor for your role: add an authenticator app "
                                "to continue.") % {"agency": agency.name})
    return HttpResponseRedirect(reverse("accounts:mfa_setup") + "?" + urlencode({"next": request.get_full_path()}))


def step_up_redirect(request, *, agency, role: str) -> HttpResponseRedirect | None:
    """None when the user may go on; otherwise where to confirm (and then come back to retry)."""
    if enrolment_needed(request, agency=agency, role=role):
        return enrolment_redirect(request, agency=agency)
    if not step_up_needed(request, agency=agency, role=role):
        return None
    messages.info(request, _("Confirm it is you with your second factor, then repeat the action."))
    return HttpResponseRedirect(reverse("accounts:mfa_verify") + "?" + urlencode({"next": _back_to(request),
                                                                                   "step_up": "1"}))


def step_up_api_check(request, *, agency, role: str) -> None:
    """API: a fresh session step-up, or the current code in the X-Second-Factor header."""
    if enrolment_needed(request, agency=agency, role=role):
        raise exceptions.PermissionDenied(_("This agency requires a second factor for your role: add an "
                                            "authenticator app in the back office first."))
    if not step_up_needed(request, agency=agency, role=role):
        return
    code = request.headers.get(STEP_UP_HEADER, "")
    if not code:
        raise exceptions.PermissionDenied(_("This action needs your second factor: send the current code from "
                                            "your authenticator app in the X-Second-Factor header."))
    result = second_factor_verify(request=request, user=request.user, code=code)
    if not result:
        raise exceptions.PermissionDenied(result.message)


def _memberships(request):
    from accounts.selectors import memberships_for_user

    return list(memberships_for_user(request.user))


def step_up_redirect_any_agency(request) -> HttpResponseRedirect | None:
    """For actions across agencies (the inbox's bulk approval): the strictest of the user's agencies."""
    for m in _memberships(request):
        needed = step_up_redirect(request, agency=m.agency, role=m.role)
        if needed:
            return needed
    return None


def step_up_api_check_any_agency(request) -> None:
    for m in _memberships(request):
        step_up_api_check(request, agency=m.agency, role=m.role)
