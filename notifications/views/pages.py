"""Outbox, failed messages, the in-app notifications of the current user."""

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.generic import ListView

from agency.views.base import AgencyScopedView
from notifications import selectors
from notifications.models import MESSAGE_KIND_LABELS, Channel, OutboundMessage
from notifications.services.delivery import message_cancel, message_mark_read, message_retry


class OutboxView(AgencyScopedView, ListView):
    template_name = "notifications/outbox.html"
    required_permission = "deadlines.view"
    paginate_by = 50
    context_object_name = "messages_list"
    fixed_status = ""

    def get_queryset(self):
        g = self.request.GET
        return selectors.outbox_list(agency=self.agency, status=self.fixed_status or g.get("status", ""),
                                     channel=g.get("channel", ""), kind=g.get("kind", ""), q=g.get("q", "").strip(),
                                     sort=g.get("sort", "recent"))

    def get_context_data(self, **kwargs):
        sort = self.request.GET.get("sort", "recent")
        return super().get_context_data(statuses=OutboundMessage.Status.choices, channels=Channel.choices,
                                         kinds=[(k, str(v)) for k, v in MESSAGE_KIND_LABELS.items()],
                                         sorts=selectors.SORT_CHOICES, sort=selectors.SORT_ALIASES.get(sort, sort),
                                         filters=self.request.GET, fixed_status=self.fixed_status, **kwargs)


class FailedView(OutboxView):
    template_name = "notifications/failed.html"
    fixed_status = OutboundMessage.Status.FAILED


class MessageActionView(AgencyScopedView):
    required_permission = "reminders.manage"

    def post(self, request, pk):
        message = get_object_or_404(OutboundMessage, pk=pk)
        if request.POST.get("action") == "cancel":
            message_cancel(agency=self.agency, message=message, user=request.user)
            messages.success(request, _("Message cancelled."))
        else:
            message_retry(agency=self.agency, message=message, user=request.user)
            messages.success(request, _("Message queued again."))
        return HttpResponseRedirect(reverse("notifications:failed", kwargs={"agency_slug": self.agency.slug}))


class NoticeOpenView(AgencyScopedView):
    """GET /a/<agency>/notifications/<pk>/open/: marks the user's own notice read and goes where it
    leads (its link inside the back office), else back to the list. Another user's notice is 404."""

    required_permission = "agency.view"

    def get(self, request, pk):
        note = get_object_or_404(selectors.inbox_list(agency=self.agency, user=request.user), pk=pk)
        message_mark_read(agency=self.agency, message_id=note.pk, user=request.user)
        return HttpResponseRedirect(note.link_path or reverse("notifications:inbox",
                                                              kwargs={"agency_slug": self.agency.slug}))


class InboxView(AgencyScopedView, ListView):
    template_name = "notifications/inbox.html"
    required_permission = "agency.view"
    paginate_by = 50
    context_object_name = "notes"

    def get_queryset(self):
        return selectors.inbox_list(agency=self.agency, user=self.request.user,
                                    unread_only=self.request.GET.get("unread") == "1")

    def post(self, request, *args, **kwargs):
        raw = request.POST.get("message")
        message_mark_read(agency=self.agency, message_id=int(raw) if raw and raw.isdigit() else None,
                          user=request.user)
        return HttpResponseRedirect(reverse("notifications:inbox", kwargs={"agency_slug": self.agency.slug}))
