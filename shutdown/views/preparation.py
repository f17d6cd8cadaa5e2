"""Preparation and transition forms (R9.1, R9.2, R1.3, R9.4): their own small views, apart from
the task page's other actions. Thin: parse, call one service (shutdown.services.preparation)."""

from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _

from agency.views.base import AgencyScopedView
from shutdown.models import ShutdownTask, TaskItem
from shutdown.services import preparation


def _back(request, agency, task, anchor: str = "#preparation"):
    back = request.POST.get("next") or ""
    if not back.startswith(f"/a/{agency.slug}/tasks/"):
        back = reverse("shutdown:task_detail", kwargs={"agency_slug": agency.slug, "pk": task.pk}) + anchor
    return HttpResponseRedirect(back)


def _ids(values) -> list[int]:
    return [int(v) for v in values if str(v).isdigit()]


class PreparationMarkView(AgencyScopedView):
    """POST: tick or waive one R9.1 phase for the selected accounts (or all), one note, one file."""

    http_method_names = ["post"]
    required_permission = "tasks.edit"

    def post(self, request, pk):
        task = get_object_or_404(ShutdownTask, pk=pk)
        post = request.POST
        count = preparation.preparation_mark(
            agency=self.agency,
            task=task,
            actor=request.user,
            phase=post.get("phase", ""),
            item_ids=_ids(post.getlist("item")),
            all_items=post.get("all_items") == "1",
            waive=post.get("mark") == "waived",
            note=post.get("note", ""),
            upload=request.FILES.get("file"),
        )
        messages.success(request, _("Preparation recorded for %(n)s account(s).") % {"n": count})
        return _back(request, self.agency, task)


ITEM_ACTIONS = ("shell_start", "shell_cancel", "unbinding", "override")


class ItemPreparationView(AgencyScopedView):
    """POST: one item's shell transition (R9.2), unbinding confirmation (R1.3) or override (R9.4)."""

    http_method_names = ["post"]
    required_permission = "tasks.edit"

    def post(self, request, pk, item_id, action):
        if action not in ITEM_ACTIONS:
            raise Http404
        task = get_object_or_404(ShutdownTask, pk=pk)
        item = get_object_or_404(
            TaskItem.objects.select_related("task", "sub_account"), task=task, pk=item_id
        )
        post, agency, user = request.POST, self.agency, request.user
        if action == "shell_start":
            item = preparation.shell_transition_start(
                agency=agency, item=item, actor=user, note=post.get("note", "")
            )
            done = _("Shell transition chosen: the shutdown is scheduled for %(d)s.") % {
                "d": item.shell_transition_until.astimezone(agency.tz).strftime("%Y-%m-%d")
            }
        elif action == "shell_cancel":
            preparation.shell_transition_cancel(
                agency=agency, item=item, actor=user, reason=post.get("reason", "")
            )
            done = _("Shell transition cancelled.")
        elif action == "unbinding":
            preparation.unbinding_confirm(
                agency=agency,
                item=item,
                actor=user,
                note=post.get("note", ""),
                upload=request.FILES.get("file"),
            )
            done = _("Unbinding confirmed: the account is being checked again.")
        else:
            preparation.recommendation_override(
                agency=agency, item=item, actor=user, reason=post.get("reason", "")
            )
            done = _("Reason recorded.")
        messages.success(request, done)
        back = reverse(
            "shutdown:item_detail", kwargs={"agency_slug": agency.slug, "pk": task.pk, "item_id": item.pk}
        )
        return HttpResponseRedirect(back + "#preparation")
