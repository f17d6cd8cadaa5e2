"""Group robots of an agency (DingTalk / WeCom / Feishu): list, add, change, remove.
Addresses and secrets are never shown back: the page shows the masked hint only."""

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from agency.exceptions import DomainValidationError
from agency.views.base import AgencyScopedView
from notifications.models import RobotEvent, RobotPlatform, RobotWebhook
from notifications.robots import robot_test_send, robot_webhook_delete, robot_webhook_save


class RobotListView(AgencyScopedView, View):
    """GET: the robots and the form to add one; POST: add (or, with `robot`, change) one."""

    required_permission = "agency.settings"

    def _render(self, request, *, form=None, errors=None, editing=None, status=200):
        robots = list(RobotWebhook.objects.order_by("name", "pk"))
        return render(
            request,
            "notifications/robots.html",
            self.get_context_data(
                robots=robots,
                platforms=RobotPlatform.choices,
                events=RobotEvent.choices,
                form=form or {},
                errors=errors or {},
                editing=editing,
            ),
            status=status,
        )

    def get(self, request):
        editing = None
        if request.GET.get("edit", "").isdigit():
            editing = get_object_or_404(RobotWebhook.objects.all(), pk=int(request.GET["edit"]))
        form = (
            {
                "name": editing.name,
                "platform": editing.platform,
                "events": editing.events,
                "is_active": editing.is_active,
            }
            if editing
            else {"events": list(RobotEvent.values), "is_active": True}
        )
        return self._render(request, form=form, editing=editing)

    def post(self, request):
        editing = None
        if request.POST.get("robot", "").isdigit():
            editing = get_object_or_404(RobotWebhook.objects.all(), pk=int(request.POST["robot"]))
        form = {
            "name": request.POST.get("name", ""),
            "platform": request.POST.get("platform", ""),
            "events": request.POST.getlist("events"),
            "is_active": request.POST.get("is_active") == "on",
        }
        try:
            robot_webhook_save(
                agency=self.agency,
                webhook=editing,
                name=form["name"],
                platform=form["platform"],
                url=request.POST.get("url", ""),
                secret=request.POST.get("secret", ""),
                events=form["events"],
                is_active=form["is_active"],
                actor=request.user,
            )
        except DomainValidationError as exc:
            return self._render(
                request,
                form=form,
                errors={"message": exc.message, **(exc.details or {})},
                editing=editing,
                status=400,
            )
        messages.success(request, _("The group robot was saved."))
        return HttpResponseRedirect(reverse("notifications:robots", kwargs={"agency_slug": self.agency.slug}))


class RobotDeleteView(AgencyScopedView, View):
    required_permission = "agency.settings"

    def post(self, request, pk):
        webhook = get_object_or_404(RobotWebhook.objects.all(), pk=pk)
        robot_webhook_delete(agency=self.agency, webhook=webhook)
        messages.success(request, _("The group robot was removed."))
        return HttpResponseRedirect(reverse("notifications:robots", kwargs={"agency_slug": self.agency.slug}))


class RobotTestView(AgencyScopedView, View):
    """POST: a test card to one robot, through the outbox (its row shows whether it arrived)."""

    required_permission = "agency.settings"

    def post(self, request, pk):
        webhook = get_object_or_404(RobotWebhook.objects.all(), pk=pk)
        robot_test_send(agency=self.agency, webhook=webhook, actor=request.user)
        messages.success(
            request,
            _("A test message is on its way to “%(name)s”: the outbox shows when it is sent.")
            % {"name": webhook.name},
        )
        return HttpResponseRedirect(reverse("notifications:robots", kwargs={"agency_slug": self.agency.slug}))
