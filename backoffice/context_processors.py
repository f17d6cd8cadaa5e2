from django.db.models import Count, Exists, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django_scopes import scopes_disabled

from accounts.roles import role_has
from accounts.selectors import memberships_for_user
from agency.models import Agency
from agency.timezones import zone_label
from approvals.models import ApprovalStage
from approvals.selectors import inbox_for_user
from notifications.models import Channel, OutboundMessage
from shutdown.states import TaskState

from .navigation import build_agency_nav


def _topbar_counts(user, memberships) -> dict[int, tuple[int, bool]]:
    """{agency id: (my unread in-app notices, whether any approval level is open)} for the user's
    agencies, in ONE query: the inbox's own reads run only where something waits."""
    ids = [m.agency_id for m in memberships]
    if not ids:
        return {}
    with scopes_disabled():
        unread = (OutboundMessage.objects.filter(agency_id=OuterRef("pk"), recipient_user=user, channel=Channel.INAPP,
                                                 status=OutboundMessage.Status.SENT, read_at__isnull=True)
                  .order_by().values("agency_id").annotate(n=Count("pk")).values("n"))
        waiting = ApprovalStage.objects.filter(agency_id=OuterRef("pk"), state=ApprovalStage.State.OPEN,
                                               task__state=TaskState.IN_APPROVAL)
        rows = (Agency.objects.filter(pk__in=ids)
                .annotate(unread=Coalesce(Subquery(unread, output_field=IntegerField()), 0), waiting=Exists(waiting))
                .values_list("pk", "unread", "waiting"))
        return {pk: (n, bool(w)) for pk, n, w in rows}


def navigation(request):
    """The top bar of every back-office page: agencies to switch to, the main navigation of
    the current agency, the approval inbox and how many decisions wait there, and the user's
    unread notifications (of the current agency; of all their agencies elsewhere)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    agency = getattr(request, "agency", None)
    access = getattr(request, "agency_access", None)
    # The tenancy check read every membership of the user already: reuse them (one read per request).
    memberships = list(access.memberships) if access is not None and access.memberships else list(
        memberships_for_user(user))
    counts = _topbar_counts(user, memberships)
    something_waits = any(counts.get(m.agency_id, (0, False))[1] for m in memberships
                          if role_has(m.role, "approvals.decide"))
    inbox = inbox_for_user(user, memberships=memberships) if something_waits else []
    if agency is not None:
        unread, notices_agency = counts.get(agency.pk, (0, False))[0], agency
    else:
        unread = sum(n for n, _w in counts.values())
        busiest = max(memberships, key=lambda m: counts.get(m.agency_id, (0, False))[0], default=None)
        notices_agency = busiest.agency if busiest is not None else None
    context = {
        "my_memberships": memberships,
        "inbox_url": reverse("inbox"),
        "inbox_count": len(inbox),
        "unread_count": unread,
        "notices_url": reverse("notifications:inbox", kwargs={"agency_slug": notices_agency.slug})
        if notices_agency is not None else "",
    }
    if agency is not None:
        context["current_agency"] = agency
        context["current_zone"] = zone_label(agency)  # every time on the page is in this zone
        context["current_access"] = access
        context["agency_nav"] = build_agency_nav(agency, access, request.path)
    return context
