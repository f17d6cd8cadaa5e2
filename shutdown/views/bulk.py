"""Work in bulk inside a task (issue 15): the bulk bar of the task page, the platform receipts
import (upload → preview and confirmation → all-or-nothing), and the confirmation pages of the
irreversible actions. Thin: parse, call one service or selector, render."""

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.generic import TemplateView

from agency.exceptions import DomainValidationError
from agency.filtering import non_empty
from agency.forms import ImportUploadForm
from agency.importers.reader import FileRejected
from agency.models import Job
from agency.services.imports import read_upload
from agency.views.base import AgencyScopedView
from agency.views.jobs import job_url
from rulebook.policy import policy_for
from shutdown import rules
from shutdown.confirmations import FIELD, IRREVERSIBLE, confirmation_token, consequences_summary
from shutdown.filters import ITEM_FILTERS, blocker_choices
from shutdown.gates import execution_blockers
from shutdown.models import DocumentKind, ReceiptImport, ShutdownTask, TaskItem, Tier
from shutdown.services import bulk
from shutdown.services.bulk_jobs import bulk_run_or_job, receipts_confirm_or_job
from shutdown.services.receipts import COLUMNS, PREVIEW_ROWS, receipts_upload
from shutdown.states import INACTIVE_ITEM_STATES, ItemState, TaskState


def BIG_WORK_MESSAGE() -> str:  # noqa: N802 - a message in the request's language
    return _("That is a lot of accounts: the work runs in the background. This page shows its progress.")


def task_url(agency, task, query: str = "", anchor: str = "") -> str:
    url = reverse("shutdown:task_detail", kwargs={"agency_slug": agency.slug, "pk": task.pk})
    return url + (f"?{query}" if query else "") + (f"#{anchor}" if anchor else "")


def filter_query(params) -> str:
    """The filter part of the page's query string (what “all matching” acts on)."""
    params = non_empty(params) or {}
    return urlencode(
        [(k, v) for k in ITEM_FILTERS for v in params.getlist(k)]
        if hasattr(params, "getlist")
        else [(k, params[k]) for k in ITEM_FILTERS if k in params]
    )


def bulk_context(view, task: ShutdownTask, page) -> dict:
    """What the task page's bulk bar needs (shutdown/_bulk_bar.html)."""
    access = view.access
    actions = [a for a in bulk.BULK_ACTIONS.values() if task.state in a.states and access.can(a.permission)]
    return {
        "bulk_actions": actions,
        "bulk_enabled": bool(actions),
        "bulk_matching": page.paginator.count,
        "bulk_filter_query": filter_query(view.request.GET),
        "blocker_choices": blocker_choices(),
        "answerable_blockers": [
            (c, label) for c, label in blocker_choices() if rules.BLOCKERS[c][0] in bulk.ANSWERABLE_CHECKS
        ],
        "document_kinds": DocumentKind.choices,
        "can_import_receipts": task.state == TaskState.EXECUTING and access.can("tasks.execute"),
    }


class TaskBulkView(AgencyScopedView):
    """POST /a/<agency>/tasks/<pk>/bulk/?<filter>: one bulk action on the ticked items, or on every
    item matching the filter of the query string when `all_matching=1`."""

    http_method_names = ["post"]

    def get_required_permission(self, method: str) -> str:
        action = bulk.BULK_ACTIONS.get(self.request.POST.get("action", "")) if self.request else None
        return action.permission if action else "tasks.edit"

    def post(self, request, pk):
        task = get_object_or_404(ShutdownTask, pk=pk)
        post = request.POST
        ids = None if post.get("all_matching") else post.getlist("ids")
        back = task_url(self.agency, task, filter_query(request.GET), "items")
        try:
            result = bulk_run_or_job(
                agency=self.agency,
                task=task,
                actor=request.user,
                action=post.get("action", ""),
                ids=ids,
                filters=request.GET,
                params=post,
                upload=request.FILES.get("file"),
            )
        except DomainValidationError as exc:
            messages.error(request, str(exc.message))
            return HttpResponseRedirect(back)
        if isinstance(result, Job):
            messages.info(request, BIG_WORK_MESSAGE())
            return HttpResponseRedirect(job_url(result))
        (messages.success if result.done else messages.warning)(request, result.message)
        return HttpResponseRedirect(back)


# --- receipts ------------------------------------------------------------------------------------


def _receipt_preview(plan) -> dict:
    error_rows = [r for r in plan.rows if r.errors]
    rows = [
        {
            "row": r.row,
            "errors": list(r.errors.values()),
            "account": (
                f"{r.item.sub_account.get_platform_display()} · {r.item.sub_account.display_name}"
                if r.item
                else " ".join(
                    str(r.cells[k]) for k in ("platform", "platform_account_id", "item") if k in r.cells
                )
            ),
            "receipt": r.values.get("receipt_number") or r.cells.get("receipt_number") or "—",
            "effective": r.values.get("effective_at"),
            "effective_written": r.cells.get("effective_at") or "—",
        }
        for r in (error_rows + [r for r in plan.rows if not r.errors])[:PREVIEW_ROWS]
    ]
    return {
        "rows": rows,
        "errors": plan.errors,
        "total": len(plan.rows),
        "error_rows": len(error_rows),
        "truncated": len(plan.rows) > len(rows),
        "ignored_columns": plan.ignored_columns,
        "ok": plan.ok,
    }


class ReceiptsImportView(AgencyScopedView, TemplateView):
    """Upload a receipts file → its preview, which is also the confirmation page of marking its
    accounts done (how many, the consequences and dates, what cannot be undone)."""

    template_name = "shutdown/receipts_import.html"
    required_permission = "tasks.execute"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            {
                "task": self.task,
                "columns": COLUMNS,
                "max_mb": settings.MAX_UPLOAD_BYTES // (1024 * 1024),
                "form": kwargs.get("form") or ImportUploadForm(),
            }
        )
        return context

    def get(self, request, pk):
        self.task = get_object_or_404(ShutdownTask, pk=pk)
        return self.render_to_response(self.get_context_data())

    def post(self, request, pk):
        self.task = task = get_object_or_404(ShutdownTask, pk=pk)
        form = ImportUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        upload = form.cleaned_data["file"]
        try:
            batch, plan = receipts_upload(
                agency=self.agency,
                task=task,
                actor=request.user,
                content=read_upload(upload),
                filename=upload.name,
            )
        except FileRejected as exc:
            form.add_error("file", str(exc))
            return self.render_to_response(self.get_context_data(form=form), status=400)
        items = [r.item for r in plan.rows if r.item is not None]
        effective = [r.values["effective_at"] for r in plan.rows if "effective_at" in r.values]
        context = self.get_context_data(
            batch=batch,
            preview=_receipt_preview(plan),
            accounts=len(items),
            consequences=consequences_summary(
                agency=self.agency,
                task=task,
                items=[_with_effective(r) for r in plan.rows if r.item is not None],
            )
            if plan.ok
            else [],
            first_effective=min(effective) if effective else None,
            last_effective=max(effective) if effective else None,
            irreversible=IRREVERSIBLE["receipts"][1] % {"reopen": policy_for(self.agency).reopen_block_days},
        )
        return render(request, "shutdown/receipts_preview.html", context, status=200 if plan.ok else 400)


def _with_effective(row):
    """The row's item as it will be once marked done (its effective time from the file)."""
    item = row.item
    item.effective_at = row.values.get("effective_at")
    return item


class ReceiptsConfirmView(AgencyScopedView):
    """POST only: marks every item of a previewed receipts file done, or nothing."""

    required_permission = "tasks.execute"

    def post(self, request, pk, import_id):
        task = get_object_or_404(ShutdownTask, pk=pk)
        if not ReceiptImport.objects.filter(task=task, pk=import_id).exists():
            raise Http404(_("No such receipts file."))
        answer = receipts_confirm_or_job(
            agency=self.agency, task=task, actor=request.user, import_id=import_id
        )
        if isinstance(answer, Job):
            messages.info(request, BIG_WORK_MESSAGE())
            return HttpResponseRedirect(job_url(answer))
        if answer["applied"]:
            task.refresh_from_db()
            messages.success(
                request,
                _("%(n)d accounts marked done from the receipts file.") % {"n": answer["done"]}
                + " "
                + what_next(task),
            )
            return HttpResponseRedirect(task_url(self.agency, task))
        messages.error(
            request,
            _(
                "The file no longer imports cleanly: nothing was marked done. Fix the rows and "
                "upload it again."
            ),
        )
        return HttpResponseRedirect(
            reverse("shutdown:receipts_import", kwargs={"agency_slug": self.agency.slug, "pk": task.pk})
        )


# --- confirmations of irreversible actions -----------------------------------------------------------


def what_next(task: ShutdownTask) -> str:
    """One sentence: what the operator does next, after an irreversible step."""
    if task.state == TaskState.DONE:
        return _("The task is done: the deadlines that follow are on the timeline and will be reminded.")
    if task.state == TaskState.FAILED:
        return _("The task ended without a done account: see the failures on the task page.")
    if task.state == TaskState.CANCELLED:
        return _("Its accounts are free for another task.")
    if task.state == TaskState.EXECUTING:
        tiers = list(
            Tier.objects.filter(task=task).order_by("position").values_list("state", "name", "position")
        )
        open_tiers = [t for t in tiers if t[0] == Tier.State.OPEN]
        if open_tiers:
            return _(
                "Next: shut the accounts of tier %(n)s down on the platforms, then import the platform receipts "
                "(or mark each account done)."
            ) % {"n": open_tiers[0][2]}
        pending = [t for t in tiers if t[0] == Tier.State.PENDING]
        if pending:
            return _("Next: open tier %(n)s.") % {"n": pending[0][2]}
    return ""


CONFIRM_PERMISSIONS = {
    "execute": "tasks.execute",
    "tier_start": "tasks.execute",
    "done": "tasks.execute",
    "cancel": "tasks.cancel",
}


class ConfirmView(AgencyScopedView, TemplateView):
    """GET /a/<agency>/tasks/<pk>/confirm/<action>/[?tier=…|item=…]: what will happen, then the
    one form from which the irreversible action proceeds (it carries the signed token)."""

    template_name = "shutdown/confirm.html"

    def get_required_permission(self, method: str) -> str:
        action = (self.kwargs or {}).get("action", "")
        if action not in CONFIRM_PERMISSIONS:
            raise Http404
        return CONFIRM_PERMISSIONS[action]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        action = kwargs["action"]
        task = get_object_or_404(ShutdownTask, pk=kwargs["pk"])
        params = self.request.GET
        target = ""
        items = TaskItem.objects.filter(task=task).exclude(state__in=INACTIVE_ITEM_STATES)
        tier = item = None
        gate_reasons: list[str] = []
        post_url = reverse(
            "shutdown:task_action", kwargs={"agency_slug": self.agency.slug, "pk": task.pk, "action": action}
        )
        if action == "execute":
            # The first pending tier opens (accounts without a tier go to a new last tier).
            tier = Tier.objects.filter(task=task, state=Tier.State.PENDING).order_by("position").first()
            items = items.filter(state=ItemState.APPROVED)
            if tier is not None:
                items = items.filter(tier=tier)
            gate_reasons = execution_blockers(agency=self.agency, task=task)
        elif action == "tier_start":
            tier = get_object_or_404(Tier, task=task, pk=_int(params.get("tier")))
            target = tier.pk
            items = items.filter(tier=tier, state=ItemState.APPROVED)
        elif action == "done":
            item = get_object_or_404(
                TaskItem.objects.select_related("sub_account", "tier"), task=task, pk=_int(params.get("item"))
            )
            target = item.pk
            items = items.filter(pk=item.pk)
        elif action == "cancel":
            post_url = reverse(
                "approvals:task_action",
                kwargs={"agency_slug": self.agency.slug, "pk": task.pk, "action": "cancel"},
            )
        items = list(items.select_related("sub_account").order_by("pk"))
        what, irreversible = IRREVERSIBLE[action]
        context.update(
            {
                "task": task,
                "action": action,
                "what": what,
                "tier": tier,
                "item": item,
                "gate_reasons": gate_reasons,
                "irreversible": irreversible % {"reopen": policy_for(self.agency).reopen_block_days}
                if "%(reopen)s" in str(irreversible)
                else irreversible,
                "accounts": len(items),
                "sample": items[:20],
                "consequences": consequences_summary(agency=self.agency, task=task, items=items)
                if action != "cancel"
                else [],
                "now": timezone.now(),
                "post_url": post_url,
                "field": FIELD,
                "token": confirmation_token(
                    user=self.request.user, task_id=task.pk, action=action, target=target
                ),
                "back": task_url(self.agency, task),
            }
        )
        return context


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
