from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership
from accounts.roles import role_has
from agency.exceptions import Conflict, DomainValidationError
from agency.models import Agency

from ..models import Delegation


def delegation_create(*, agency: Agency, delegator, delegate, starts_at, ends_at, reason: str = "", actor) -> Delegation:
    """`delegator` lets `delegate` decide in their place between the two dates."""
    errors = {}
    if starts_at is None or ends_at is None or timezone.is_naive(starts_at) or timezone.is_naive(ends_at):
        errors["ends_at"] = [_("Give a start and an end.")]
    elif ends_at <= starts_at:
        errors["ends_at"] = [_("The end must be after the start.")]
    elif ends_at <= timezone.now():
        errors["ends_at"] = [_("The end is in the past.")]
    if delegate is None or delegator is None:
        errors["delegate"] = [_("Choose a member.")]
    elif delegate.pk == delegator.pk:
        errors["delegate"] = [_("A member cannot delegate to themselves.")]
    else:
        roles = dict(Membership.objects.filter(agency=agency, user_id__in=[delegate.pk, delegator.pk])
                     .values_list("user_id", "role"))
        if not role_has(roles.get(delegate.pk), "approvals.decide"):
            errors["delegate"] = [_("%(who)s is not a member of this agency who may approve.")
                                  % {"who": delegate.email}]
        if not role_has(roles.get(delegator.pk), "approvals.decide"):
            errors["delegator"] = [_("%(who)s is not an approver of this agency.") % {"who": delegator.email}]
    if errors:
        raise DomainValidationError(_("The delegation could not be saved."), details=errors)
    return Delegation.objects.create(agency=agency, delegator=delegator, delegate=delegate, starts_at=starts_at,
                                     ends_at=ends_at, reason=reason.strip(), created_by=actor)


def delegation_revoke(*, agency: Agency, delegation: Delegation, actor) -> Delegation:
    """End a delegation now (the row stays for the record).

    Only the delegator or an administrator of the agency (`approvals.policy`) may revoke it."""
    with transaction.atomic():
        locked = Delegation.objects.select_for_update().get(pk=delegation.pk)
        if locked.delegator_id != actor.pk:
            role = Membership.objects.filter(agency=agency, user=actor).values_list("role", flat=True).first()
            if not role_has(role, "approvals.policy"):
                raise Conflict(_("Only the delegator or an administrator can revoke a delegation."),
                               code="not_allowed")
        if locked.revoked_at is not None:
            raise Conflict(_("This delegation has already been revoked."), code="already_revoked")
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
    return locked
