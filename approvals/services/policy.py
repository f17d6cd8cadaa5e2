from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.models import Membership
from accounts.roles import Role, role_has
from agency.exceptions import DomainValidationError
from agency.models import Agency

from ..models import ApprovalLevel, ApprovalLevelMember, ApprovalPolicy, LevelMode


def _clean_levels(*, agency: Agency, levels: list[dict]) -> list[dict]:
    if not levels:
        raise DomainValidationError(_("A policy needs at least one level."), details={"levels": [_("Add a level.")]})
    roles = dict(Membership.objects.filter(agency=agency).values_list("user_id", "role"))
    errors, clean = {}, []
    for index, level in enumerate(levels, start=1):
        problems = []
        name = (level.get("name") or "").strip()
        role = level.get("role") or ""
        member_ids = sorted({int(getattr(m, "pk", m)) for m in (level.get("members") or [])})
        mode = level.get("mode") or LevelMode.ANY
        required = int(level.get("required_count") or 1)
        sla = level.get("sla_hours")
        if not name:
            problems.append(_("Give the level a name."))
        if bool(role) == bool(member_ids):
            problems.append(_("Choose either a role or named members."))
        if role and role not in Role.values:
            problems.append(_("Unknown role “%(role)s”.") % {"role": role})
        if role and not role_has(role, "approvals.decide"):
            problems.append(_("The role “%(role)s” may not approve.") % {"role": Role(role).label})
        for uid in member_ids:
            if not role_has(roles.get(uid), "approvals.decide"):
                problems.append(_("User #%(id)s is not a member of this agency who may approve.") % {"id": uid})
        if mode not in LevelMode.values:
            problems.append(_("Unknown mode “%(mode)s”.") % {"mode": mode})
        if mode == LevelMode.N_OF_M and member_ids and required > len(member_ids):
            problems.append(_("N (%(n)s) is larger than the %(m)s named members.") % {"n": required,
                                                                                     "m": len(member_ids)})
        try:
            sla = int(sla)
        except (TypeError, ValueError):
            sla = 0
        if sla < 1:
            problems.append(_("The SLA must be at least one hour."))
        if problems:
            errors[f"level {index}"] = problems
        clean.append({"name": name, "role": role, "member_ids": member_ids, "mode": mode,
                      "required_count": max(1, required), "sla_hours": sla})
    if errors:
        raise DomainValidationError(_("Some levels are not valid: %(rows)s.") % {"rows": ", ".join(errors)},
                                    details=errors)
    return clean


def approval_policy_save(*, agency: Agency, policy: ApprovalPolicy | None = None, name: str, strategy: str = "",
                         is_active: bool = True, levels: list[dict]) -> ApprovalPolicy:
    """Create or replace a policy and its ordered levels (position = order given)."""
    name = (name or "").strip()
    if not name:
        raise DomainValidationError(_("Give the policy a name."), details={"name": [_("This field is required.")]})
    clean = _clean_levels(agency=agency, levels=levels)
    try:
        with transaction.atomic():
            if policy is None:
                policy = ApprovalPolicy.objects.create(agency=agency, name=name, strategy=strategy,
                                                       is_active=is_active)
            else:
                policy = ApprovalPolicy.objects.select_for_update().get(pk=policy.pk)
                policy.name, policy.strategy, policy.is_active = name, strategy, is_active
                policy.save()
                ApprovalLevel.objects.filter(policy=policy).delete()
            for position, level in enumerate(clean, start=1):
                member_ids = level.pop("member_ids")
                row = ApprovalLevel.objects.create(agency=agency, policy=policy, position=position, **level)
                ApprovalLevelMember.objects.bulk_create(
                    [ApprovalLevelMember(agency=agency, level=row, user_id=uid) for uid in member_ids])
    except IntegrityError as exc:
        raise DomainValidationError(_("There is already a policy for this strategy."),
                                    details={"strategy": [_("Edit the existing policy instead.")]}) from exc
    return policy


def approval_policy_delete(*, agency: Agency, policy: ApprovalPolicy) -> None:
    """Delete a policy and its levels (cascade). Rounds already opened keep their own copy of the levels.

    Like `approval_policy_save`, the write runs in one transaction on the locked policy row, so that it
    never interleaves with a concurrent save of the same policy. A policy already gone is not an error."""
    with transaction.atomic():
        locked = ApprovalPolicy.objects.select_for_update().filter(agency=agency, pk=policy.pk).first()
        if locked is not None:
            locked.delete()
