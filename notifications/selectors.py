from django.db.models import Q

from notifications.models import OutboundMessage

SORTS = {"-send": ("-send_after", "-id"), "send": ("send_after", "id"), "status": ("status", "-send_after")}


def outbox_list(*, agency, status: str = "", channel: str = "", kind: str = "", q: str = "", sort: str = "-send"):
    qs = OutboundMessage.objects.filter(agency=agency).select_related("recipient_user")
    if status:
        qs = qs.filter(status=status)
    if channel:
        qs = qs.filter(channel=channel)
    if kind:
        qs = qs.filter(kind=kind)
    if q:
        qs = qs.filter(Q(recipient_address__icontains=q) | Q(recipient_user__email__icontains=q)
                       | Q(idempotency_key__icontains=q))
    return qs.order_by(*SORTS.get(sort, SORTS["-send"]))


def inbox_list(*, agency, user, unread_only: bool = False):
    qs = OutboundMessage.objects.filter(agency=agency, recipient_user=user, channel="inapp",
                                        status=OutboundMessage.Status.SENT)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs.order_by("-sent_at", "-id")
