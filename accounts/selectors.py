from .models import Membership


def memberships_for_user(user):
    if not user.is_authenticated:
        return Membership.objects.none()
    return Membership.objects.filter(user=user, agency__is_active=True).select_related("agency").order_by(
        "agency__name"
    )


def membership_get(*, user, agency) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, agency=agency).first()
