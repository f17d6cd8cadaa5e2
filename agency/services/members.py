"""Members' lifecycle: invitations (send, resend, withdraw, accept), role changes and removals,
each recorded (MemberChange) with who and when. The last owner can be neither removed nor demoted.
Tokens and sessions follow memberships through accounts.signals."""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Membership, User
from accounts.roles import Role
from agency.exceptions import Conflict, DomainValidationError
from agency.models import Invitation, MemberChange

INVITATION_DAYS = 7


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def invitation_url(raw: str) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("invitation_accept", kwargs={"token": raw})


def _send(invitation: Invitation, raw: str) -> None:
    context = {"agency": invitation.agency, "role": dict(Role.choices).get(invitation.role, invitation.role),
               "url": invitation_url(raw), "expires_at": invitation.expires_at,
               "invited_by": invitation.invited_by}
    # The expiry in the agency's zone, whoever (or whichever process) sends the invitation.
    with translation.override(settings.LANGUAGE_CODE), timezone.override(invitation.agency.tz):
        subject = render_to_string("agency/invitation_subject.txt", context).strip()
        body = render_to_string("agency/invitation_email.txt", context)
    transaction.on_commit(lambda: send_mail(subject, body, None, [invitation.email]))


def _new_secret() -> tuple[str, str]:
    raw = secrets.token_urlsafe(32)
    return raw, _hash(raw)


@transaction.atomic
def invitation_create(*, agency, actor, email: str, role: str) -> tuple[Invitation, str]:
    email = User.objects.normalize_email(email).strip().lower()
    if role not in Role.values:
        raise DomainValidationError(_("Choose a role."))
    if Membership.objects.filter(agency=agency, user__email=email).exists():
        raise Conflict(_("%(email)s is already a member.") % {"email": email})
    for old in Invitation.objects.filter(agency=agency, email=email, accepted_at__isnull=True, revoked_at__isnull=True):
        old.revoked_at = timezone.now()
        old.save(update_fields=["revoked_at"])
    raw, token_hash = _new_secret()
    invitation = Invitation.objects.create(agency=agency, email=email, role=role, token_hash=token_hash,
                                           invited_by=actor,
                                           expires_at=timezone.now() + timedelta(days=INVITATION_DAYS))
    MemberChange.objects.create(agency=agency, kind=MemberChange.Kind.INVITED, email=email, new_role=role, actor=actor)
    _send(invitation, raw)
    return invitation, raw


@transaction.atomic
def invitation_resend(*, agency, actor, invitation: Invitation) -> str:
    if invitation.accepted_at or invitation.revoked_at:
        raise Conflict(_("This invitation was already used or withdrawn."))
    raw, invitation.token_hash = _new_secret()
    invitation.sent_at = timezone.now()
    invitation.expires_at = timezone.now() + timedelta(days=INVITATION_DAYS)
    invitation.save(update_fields=["token_hash", "sent_at", "expires_at"])
    MemberChange.objects.create(agency=agency, kind=MemberChange.Kind.INVITATION_RESENT, email=invitation.email,
                                new_role=invitation.role, actor=actor)
    _send(invitation, raw)
    return raw


@transaction.atomic
def invitation_revoke(*, agency, actor, invitation: Invitation) -> None:
    if invitation.accepted_at or invitation.revoked_at:
        raise Conflict(_("This invitation was already used or withdrawn."))
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    MemberChange.objects.create(agency=agency, kind=MemberChange.Kind.INVITATION_REVOKED, email=invitation.email,
                                old_role=invitation.role, actor=actor)


def invitation_find(raw: str) -> Invitation | None:
    """By the link's secret, across agencies (the link is the credential)."""
    from django_scopes import scopes_disabled

    with scopes_disabled():
        return Invitation.objects.select_related("agency").filter(token_hash=_hash(raw or "")).first()


def invitation_problem(invitation: Invitation | None) -> str | None:
    if invitation is None:
        return _("This invitation link is not valid.")
    if invitation.accepted_at:
        return _("This invitation was already used. Sign in instead.")
    if invitation.revoked_at:
        return _("This invitation was withdrawn or replaced by a newer one. Ask for a new invitation.")
    if invitation.expires_at <= timezone.now():
        return _("This invitation has expired. Ask the agency for a new one.")
    if not invitation.agency.is_active:
        return _("This invitation link is not valid.")
    return None


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user) -> Membership:
    """The invitee (signed in, or just created) joins. Single use: locked and checked again."""
    from django_scopes import scope

    with scope(agency=invitation.agency):
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        problem = invitation_problem(invitation)
        if problem:
            raise Conflict(problem)
        membership, _created = Membership.objects.get_or_create(
            user=user, agency=invitation.agency, defaults={"role": invitation.role})
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        MemberChange.objects.create(agency=invitation.agency, kind=MemberChange.Kind.JOINED, email=user.email,
                                    new_role=membership.role, actor=user)
    return membership


def _owners_left(agency, excluding: Membership) -> int:
    return Membership.objects.filter(agency=agency, role=Role.OWNER).exclude(pk=excluding.pk).count()


@transaction.atomic
def member_role_change(*, agency, actor, membership: Membership, role: str) -> None:
    if role not in Role.values:
        raise DomainValidationError(_("Choose a role."))
    membership = Membership.objects.select_for_update().get(pk=membership.pk, agency=agency)
    if membership.role == role:
        return
    if membership.role == Role.OWNER and not _owners_left(agency, membership):
        raise Conflict(_("The last owner cannot be demoted: make someone else owner first."))
    old = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    MemberChange.objects.create(agency=agency, kind=MemberChange.Kind.ROLE_CHANGED, email=membership.user.email,
                                old_role=old, new_role=role, actor=actor)


@transaction.atomic
def member_remove(*, agency, actor, membership: Membership) -> None:
    membership = Membership.objects.select_for_update().select_related("user").get(pk=membership.pk, agency=agency)
    if membership.role == Role.OWNER and not _owners_left(agency, membership):
        raise Conflict(_("The last owner cannot be removed: make someone else owner first."))
    MemberChange.objects.create(agency=agency, kind=MemberChange.Kind.REMOVED, email=membership.user.email,
                                old_role=membership.role, actor=actor)
    membership.delete()
