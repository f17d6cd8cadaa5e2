"""Outbox, failed messages, the in-app notifications of the current user."""

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.generic import ListView, TemplateView

from agency.exceptions import DomainValidationError
from agency.views.base import AgencyScopedView
from notifications import selectors
from notifications.models import MEMBER_KINDS, MESSAGE_KIND_LABELS, Channel, OutboundMessage
from notifications.services.delivery import message_cancel, message_mark_read, message_retry
from notifications.services.preferences import (
    ALL_CHANNELS,
    allowed_channels,
    preferences_for,
    preferences_save,
)


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


class PreferencesView(AgencyScopedView, TemplateView):
    """The member's own choice of channels per kind of message, within what the agency allows."""

    template_name = "notifications/preferences.html"
    required_permission = "agency.view"

    def get_context_data(self, *, errors=None, posted=None, **kwargs):
        stored = preferences_for(agency=self.agency, user=self.request.user)
        rows = []
        for kind in MEMBER_KINDS:
            allowed = allowed_channels(agency=self.agency, kind=kind)
            chosen = posted.get(kind, []) if posted is not None else stored.get(kind)
            rows.append({"kind": kind, "label": MESSAGE_KIND_LABELS[kind], "default": chosen is None,
                         "cells": [{"channel": c, "label": Channel(c).label, "allowed": c in allowed,
                                    "checked": c in allowed and (c in chosen if chosen is not None
                                                                 else c != Channel.SMS)}
                                   for c in ALL_CHANNELS]})
        return super().get_context_data(rows=rows, errors=errors or [], channels=[Channel(c).label for c in ALL_CHANNELS],
                                        **kwargs)

    def post(self, request, *args, **kwargs):
        posted = {kind: request.POST.getlist(kind) for kind in MEMBER_KINDS}
        try:
            preferences_save(agency=self.agency, user=request.user, choices=posted)
        except DomainValidationError as exc:
            return self.render_to_response(self.get_context_data(errors=list(exc.details.values()), posted=posted),
                                           status=400)
        messages.success(request, _("Your notification settings are saved."))
        return HttpResponseRedirect(reverse("notifications:preferences", kwargs={"agency_slug": self.agency.slug}))
