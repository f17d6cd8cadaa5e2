"""The choke point of tenant isolation for HTTP: resolve the agency, check the member.

Both base classes (HTML and API) call `resolve_agency_access`; nothing else decides
which agency a request may see.
"""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _

from accounts.models import Membership
from accounts.roles import Role, role_has, role_labels_with

from .models import Agency


@dataclass(frozen=True)
class AgencyAccess:
    agency: Agency
    membership: Membership
    read_only: bool = False  # a read-only API token: only what the read-only role may do
    # Every active membership of the user (agency loaded), by agency name: read in the same query,
    # reused by the top bar (agency switcher) and the inbox count instead of reading them again.
    memberships: tuple[Membership, ...] = ()

    @property
    def role(self) -> str:
        return self.membership.role

    def can(self, permission: str) -> bool:
        if self.read_only and not role_has(Role.AUDITOR, permission):
            return False
        return role_has(self.role, permission)


def resolve_agency_access(*, user, agency_slug: str, permission: str | None, token=None) -> AgencyAccess:
    """404 for an unknown agency or a non-member (never reveal existence), 403 for a wrong role.

    With an API token (accounts.ApiToken), only the token's agency exists: 404 for every other,
    even one the user belongs to."""
    if not user or not user.is_authenticated:
        raise Http404
    if token is not None and token.agency.slug != agency_slug:
        raise Http404(_("No such agency."))
    # One query for all of the user's memberships (a handful): the one asked for decides access.
    memberships = tuple(
        Membership.objects.select_related("agency")
        .filter(user=user, agency__is_active=True)
        .order_by("agency__name", "pk")
    )
    membership = next((m for m in memberships if m.agency.slug == agency_slug), None)
    if membership is None:
        raise Http404(_("No such agency."))
    read_only = token is not None and token.read_only
    access = AgencyAccess(agency=membership.agency, membership=membership, read_only=read_only,
                          memberships=memberships)
    if read_only and permission and not access.can(permission) and role_has(membership.role, permission):
        raise PermissionDenied(_("This API token is read-only."))
    if permission and not access.can(permission):
        raise PermissionDenied(
            _("This needs one of these roles: %(roles)s.") % {"roles": role_labels_with(permission)}
        )
    return access


def permission_denied_message(permission: str) -> str:
    return _("This needs one of these roles: %(roles)s.") % {"roles": role_labels_with(permission)}


def agency_get_by_id(agency_id) -> Agency:
    return Agency.objects.get(pk=agency_id)
