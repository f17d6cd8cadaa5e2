"""Receivers that keep tokens and sessions in step with memberships (also for admin edits)."""

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from .mfa import second_factor_pending_mark
from .models import ApiToken, Membership, UserSession
from .security import member_access_reduced, role_is_lowered, user_session_record


@receiver(user_logged_in)
def _record_session(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        second_factor_pending_mark(request, user)
        user_session_record(request=request, user=user)


@receiver(user_logged_out)
def _forget_session(sender, request, user, **kwargs):
    key = getattr(getattr(request, "session", None), "session_key", None)
    if key:
        UserSession.objects.filter(session_key=key).delete()


@receiver(pre_save, sender=Membership)
def _remember_old_role(sender, instance, **kwargs):
    instance._old_role = (
        Membership.objects.filter(pk=instance.pk).values_list("role", flat=True).first() if instance.pk else None
    )


@receiver(post_save, sender=Membership)
def _role_lowered(sender, instance, created, **kwargs):
    old = getattr(instance, "_old_role", None)
    if not created and old and role_is_lowered(old, instance.role):
        member_access_reduced(user=instance.user, agency=instance.agency, reason=ApiToken.RevokedReason.ROLE_LOWERED)


@receiver(post_delete, sender=Membership)
def _member_removed(sender, instance, origin=None, **kwargs):
    # Only when the membership itself is deleted: a user or an agency being deleted takes its
    # tokens and sessions along by cascade (recording events for them would fail).
    origin_model = getattr(origin, "model", type(origin))
    if origin_model is not Membership:
        return
    member_access_reduced(user=instance.user, agency=instance.agency, reason=ApiToken.RevokedReason.MEMBER_REMOVED)
