from django.db.models import BooleanField, Case, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from notifications.models import OutboundMessage

# The outbox orders, as the page names them. “Most recent first” means what was sent (or fell
# due) last, so reminders scheduled for next year do not come first; “next to go out first”
# lists the scheduled ones, soonest first.
SORT_CHOICES = [
    ("recent", _("Most recent first (sent or due)")),
    ("upcoming", _("Next to go out first (scheduled)")),
    ("status", _("By status")),
]
SORT_ALIASES = {"-send": "recent", "send": "upcoming"}


def _ordering(sort: str, now):
    future = Case(When(send_after__gt=now, then=Value(True)), default=Value(False), output_field=BooleanField())
    sort = SORT_ALIASES.get(sort, sort)
    if sort == "upcoming":
        return future, (future.desc(), "send_after", "id")
    if sort == "status":
        return future, ("status", future.asc(), "-send_after", "-id")
    return future, (future.asc(), "-send_after", "-id")


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
    _future, ordering = _ordering(sort, timezone.now())
    return qs.order_by(*ordering)


def inbox_list(*, agency, user, unread_only: bool = False):
    qs = OutboundMessage.objects.filter(agency=agency, recipient_user=user, channel="inapp",
                                        status=OutboundMessage.Status.SENT)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs.order_by("-sent_at", "-id")
