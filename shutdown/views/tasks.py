"""The back-office pages of shutdown tasks. Thin: parse, call one selector or service, render."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.generic import TemplateView

from agency.exceptions import DomainValidationError
from agency.fields import FieldError, parent_ref
from agency.files import stored_file_response
from agency.forms import SELECTION_FORM_FIELDS
from agency.models import Platform, SubAccount
from agency.selectors import subaccount_filter_queryset
from agency.views.base import AgencyScopedView
from rulebook.policy import policy_for
from shutdown import rules, selectors
from shutdown.confirmations import confirmation_valid
from shutdown.connectors import connector_for
from shutdown.forms import DocumentForm, TaskCreateForm
from shutdown.models import (
    Blocker,
    DocumentKind,
    PreparationPhase,
    ShutdownTask,
    Strategy,
    TaskDocument,
    TaskItem,
    Tier,
)
from shutdown.panels import TASK_PAGE_PANELS
from shutdown.services import blockers as blocker_services
from shutdown.services import execution, lifecycle, precheck
from shutdown.services import tasks as task_services
from shutdown.services.blockers import ANSWERABLE_CHECKS
from shutdown.services.documents import document_upload
from shutdown.states import EDITABLE_TASK_STATES, ItemState, TaskState
from shutdown.views.bulk import bulk_context, what_next

PAGE_SIZE = 50
PREVIEW_LIMIT = 200


def _querystring(params, **changes) -> str:
    q = params.copy()
    for key, value in changes.items():
        q.pop(key, None)
        if value not in (None, ""):
            q[key] = value
    return q.urlencode()


class _Capabilities:
    """What the member may do on these pages (buttons are shown only when allowed)."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update({"can_edit": self.access.can("tasks.edit"), "can_execute": self.access.can("tasks.execute"),
                        "answerable": ANSWERABLE_CHECKS})
        return context


class TaskListView(AgencyScopedView, _Capabilities, TemplateView):
    template_name = "shutdown/task_list.html"
    required_permission = "tasks.view"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        params = self.request.GET
        page = Paginator(selectors.task_list(params=params), PAGE_SIZE).get_page(params.get("page"))
        context.update({
            "page_obj": page, "tasks": page.object_list, "params": params, "states": TaskState.choices,
            "strategies": Strategy.choices, "sort": params.get("sort") or "-created",
            "filtered": any(params.get(k) for k in ("state", "strategy", "q")),
            "qs_no_page": _querystring(params, page=None), "qs_no_sort": _querystring(params, sort=None, page=None),
            "subaccounts_url": reverse("agency:subaccount_list", kwargs={"agency_slug": self.agency.slug}),
        })
        return context


def _account_by_ref(ref: str):
    """“抖音:dy_10001” (platform name or code, a colon, the account id) → the sub-account, or None.
    A bare number is still read as the back-office id (links and older bookmarks)."""
    ref = (ref or "").strip()
    if ref.isdigit():
        return SubAccount.objects.filter(pk=int(ref)).first()
    try:
        platform, account_id = parent_ref(ref)
    except FieldError:
        return None
    qs = SubAccount.objects.filter(platform_account_id=account_id)
    if platform:
        qs = qs.filter(platform=platform)
    return qs.first() if qs.count() == 1 else None


class TaskCreateView(AgencyScopedView, _Capabilities, TemplateView):
    """Pre-filled from the sub-account list: repeated `ids`, or its filter plus `from_filter=1`."""

    template_name = "shutdown/task_create.html"
    required_permission = "tasks.edit"

    def _selection(self, data):
        """`from_filter=1` acts on every account matching the list's filter (the ticked ids are
        ignored then); otherwise the ticked `ids`."""
        if data.get("from_filter"):
            params = {k: v for k, v in data.lists() if k not in {
                "from_filter", "title", "strategy", "reason", "matrix_target", "tier_rule", "batch_size", "page",
                "page_size", "ids", *SELECTION_FORM_FIELDS}}
            params = {k: v[0] if len(v) == 1 else v for k, v in params.items()}
            return {"filter_params": params}, subaccount_filter_queryset(agency=self.agency, params=params)
        ids = [int(i) for i in data.getlist("ids") if str(i).isdigit()]
        if ids:
            return {"sub_account_ids": ids}, SubAccount.objects.filter(pk__in=ids)
        return {}, SubAccount.objects.none()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        source = self.request.POST if self.request.method == "POST" else self.request.GET
        selection_args, selection = self._selection(source)
        hidden = [(k, v) for k in source if k in ("ids",) or k == "from_filter" or (
            "filter_params" in selection_args and k in selection_args["filter_params"])
            for v in source.getlist(k)]
        policy = policy_for(self.agency)
        sample = list(selection.order_by("platform", "display_name")[:PREVIEW_LIMIT])
        busy = task_services.busy_accounts(sub_account_ids=selection.values("pk"))
        busy_task = {account.pk: task for account, task in busy}
        context.update({
            "busy": busy, "busy_task": busy_task,
            "form": kwargs.get("form") or TaskCreateForm(initial={"title": _("Shutdown batch")}),
            "count": selection.count(),
            "sample": [(a, rules.recommend(sub_account=a, policy=policy), busy_task.get(a.pk)) for a in sample],
            "hidden": hidden, "preview_limit": PREVIEW_LIMIT,
            "subaccounts_url": reverse("agency:subaccount_list", kwargs={"agency_slug": self.agency.slug}),
        })
        return context

    def post(self, request, *args, **kwargs):
        if "title" not in request.POST:
            # The selection, posted from the sub-account list (its CSRF token in the body, not in
            # a URL): show the form pre-filled, create nothing yet.
            return self.render_to_response(self.get_context_data())
        form = TaskCreateForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        selection_args, _qs = self._selection(request.POST)
        data = form.cleaned_data
        matrix_target = None
        if data.get("matrix_target"):
            matrix_target = _account_by_ref(data["matrix_target"])
            if matrix_target is None:
                form.add_error("matrix_target", _("No such sub-account in this agency."))
                return self.render_to_response(self.get_context_data(form=form))
        try:
            task = lifecycle.task_create_and_check(
                agency=self.agency, actor=request.user, title=data["title"], reason=data["reason"],
                strategy=data["strategy"], matrix_target=matrix_target, tier_rule=data.get("tier_rule") or None,
                batch_size=data.get("batch_size"), leave_out_busy=bool(data.get("leave_out_busy")),
                **selection_args)
        except DomainValidationError as exc:
            form.add_error(None, str(exc.message))
            return self.render_to_response(self.get_context_data(form=form))
        messages.success(request, _("Task created; the pre-checks are running."))
        return HttpResponseRedirect(reverse("shutdown:task_detail", kwargs={"agency_slug": self.agency.slug,
                                                                              "pk": task.pk}))


class TaskDetailView(AgencyScopedView, _Capabilities, TemplateView):
    template_name = "shutdown/task_detail.html"
    required_permission = "tasks.view"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        task = get_object_or_404(ShutdownTask.objects.select_related("matrix_target", "created_by"), pk=kwargs["pk"])
        params = self.request.GET
        policy = policy_for(self.agency)
        page = Paginator(selectors.task_items(task=task, params=params), PAGE_SIZE).get_page(params.get("page"))
        rows = [(item, rules.recommend(sub_account=item.sub_account, policy=policy),
                 [b for b in item.blockers.all() if b.is_blocking]) for item in page.object_list]
        tiers = list(selectors.task_tiers(task=task))
        context.update({
            "task": task, "counts": selectors.task_counts(task=task), "tiers": tiers, "rows": rows,
            "page_obj": page, "params": params, "item_states": ItemState.choices, "platforms": Platform.choices,
            "qs_no_page": _querystring(params, page=None), "qs_no_sort": _querystring(params, sort=None, page=None),
            "blockers": list(selectors.task_blockers(task=task)[:PAGE_SIZE]),
            "documents": list(selectors.task_documents(task=task)[:PAGE_SIZE]),
            "document_form": DocumentForm(), "editable": task.state in EDITABLE_TASK_STATES,
            "executing": task.state == TaskState.EXECUTING, "approved": task.state == TaskState.APPROVED,
            "split_rules": rules.SPLIT_RULES.items(), "connector": connector_for(self.agency),
            "task_panels": TASK_PAGE_PANELS,
            "audit_url": reverse("approvals:task_audit", kwargs={"agency_slug": self.agency.slug, "pk": task.pk}),
            "progress_pct": int(100 * task.progress_done / task.progress_total) if task.progress_total else 0,
        })
        context.update(bulk_context(self, task, page))
        return context


class TaskProgressView(AgencyScopedView, TemplateView):
    """The progress bar, polled by htmx while the pre-checks run."""

    template_name = "shutdown/_progress.html"
    required_permission = "tasks.view"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        task = get_object_or_404(ShutdownTask, pk=kwargs["pk"])
        context.update({"task": task, "progress_pct": int(100 * task.progress_done / task.progress_total)
                        if task.progress_total else 0})
        return context

    def render_to_response(self, context, **kwargs):
        response = super().render_to_response(context, **kwargs)
        task = context["task"]
        if task.state != TaskState.CHECKING and self.request.htmx:
            response["HX-Refresh"] = "true"  # the checks finished: reload the page with the results
        return response


class ItemDetailView(AgencyScopedView, _Capabilities, TemplateView):
    template_name = "shutdown/item_detail.html"
    required_permission = "tasks.view"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        task = get_object_or_404(ShutdownTask.objects.select_related("matrix_target"), pk=kwargs["pk"])
        item = get_object_or_404(selectors.task_items(task=task), pk=kwargs["item_id"])
        insight = selectors.item_insight(agency=self.agency, item=item)
        phases = []
        for step in insight["checklist"]:
            if not phases or phases[-1][0] != step["phase"]:
                phases.append((step["phase"], str(rules.PHASES.get(step["phase"], step["phase"])), []))
            phases[-1][2].append(step)
        context.update({
            "task": task, "item": item, "account": item.sub_account, "insight": insight, "phases": phases,
            "blockers": list(Blocker.objects.filter(item=item).select_related("appeal_document")
                             .order_by("check_type", "code")),
            "documents": list(TaskDocument.objects.filter(item=item).select_related("uploaded_by")),
            "tiers": list(Tier.objects.filter(task=task).order_by("position")),
            "editable": task.state in EDITABLE_TASK_STATES, "executing": task.state == TaskState.EXECUTING,
            "document_kinds": DocumentKind.choices, "strategy_label": Strategy(task.strategy).label,
            "upload_kinds": DocumentForm.base_fields["kind"].choices, "preparation_phases": PreparationPhase.choices,
        })
        return context


class DocumentDownloadView(AgencyScopedView):
    required_permission = "tasks.view"

    def get(self, request, pk, document_id):
        document = get_object_or_404(TaskDocument, task_id=pk, pk=document_id)
        # Local disk: streamed; object storage: a short-lived signed URL (agency/files.py).
        return stored_file_response(document.file, filename=document.original_name,
                                    content_type=document.content_type)


# --- Actions (POST forms on the task and item pages) ------------------------------------------

ACTION_PERMISSIONS = {
    "precheck": "tasks.edit", "split": "tasks.edit", "exclude": "tasks.edit", "restore": "tasks.edit",
    "move": "tasks.edit", "recheck": "tasks.edit", "tier_update": "tasks.edit", "item_update": "tasks.edit", "resolve": "tasks.edit",
    "appeal": "tasks.edit", "upload": "tasks.edit", "execute": "tasks.execute", "tier_start": "tasks.execute",
    "tier_close": "tasks.execute", "tier_run": "tasks.execute", "done": "tasks.execute", "failed": "tasks.execute",
    "retry": "tasks.execute",
}


# Irreversible actions: they proceed only from their confirmation page.
CONFIRMED_ACTIONS = ("execute", "tier_start", "done")


class TaskActionView(AgencyScopedView):
    """POST /a/<agency>/tasks/<pk>/do/<action>/: one service call per action, then back."""

    http_method_names = ["post"]

    def get_required_permission(self, method: str) -> str:
        action = (self.kwargs or {}).get("action", "")
        if action not in ACTION_PERMISSIONS:
            raise Http404
        return ACTION_PERMISSIONS[action]

    def post(self, request, pk, action):
        task = get_object_or_404(ShutdownTask, pk=pk)
        post = request.POST
        user = request.user
        agency = self.agency

        def item():
            return get_object_or_404(TaskItem.objects.select_related("task", "tier", "sub_account"), task=task,
                                     pk=_int(post.get("item")))

        def tier():
            return get_object_or_404(Tier.objects.select_related("task"), task=task, pk=_int(post.get("tier")))

        def blocker():
            return get_object_or_404(Blocker, task=task, pk=_int(post.get("blocker")))

        if action in CONFIRMED_ACTIONS:
            # Irreversible: only from its confirmation page (shutdown/confirmations.py).
            target = {"tier_start": post.get("tier"), "done": post.get("item")}.get(action, "")
            if not confirmation_valid(post, user=user, task_id=task.pk, action=action, target=target or ""):
                query = {"tier_start": f"?tier={_int(target)}", "done": f"?item={_int(target)}"}.get(action, "")
                return HttpResponseRedirect(reverse("shutdown:confirm", kwargs={
                    "agency_slug": agency.slug, "pk": task.pk, "action": action}) + query)

        done_message = _("Done.")
        if action == "precheck":
            precheck.precheck_start(agency=agency, task=task, actor=user)
            done_message = _("The pre-checks are running.")
        elif action == "split":
            task_services.tiers_split(agency=agency, task=task, actor=user, rule=post.get("rule"),
                                      batch_size=_int(post.get("batch_size")) or None)
            done_message = _("Tiers replaced.")
        elif action == "tier_update":
            task_services.tier_update(agency=agency, tier=tier(), actor=user, name=post.get("name"),
                                      planned_start=_local_datetime(post.get("planned_start"), agency))
            done_message = _("Tier saved.")
        elif action == "exclude":
            task_services.item_exclude(agency=agency, item=item(), actor=user, reason=post.get("reason", ""))
            done_message = _("Item excluded.")
        elif action == "restore":
            task_services.item_restore(agency=agency, item=item(), actor=user)
        elif action == "move":
            task_services.item_move(agency=agency, item=item(), tier=tier(), actor=user)
            done_message = _("Item moved.")
        elif action == "recheck":
            precheck.precheck_start(agency=agency, task=task, actor=user, item_ids=[item().pk])
            done_message = _("The item is being checked again.")
        elif action == "item_update":
            task_services.item_update(agency=agency, item=item(), actor=user,
                                      topic_transfer_target=post.get("topic_transfer_target"))
        elif action == "resolve":
            blocker_services.blocker_resolve(agency=agency, blocker=blocker(), actor=user, note=post.get("note", ""))
            done_message = _("Resolution recorded: check the item again.")
        elif action == "appeal":
            blocker_services.blocker_appeal(agency=agency, blocker=blocker(), actor=user, note=post.get("note", ""),
                                            upload=request.FILES.get("file"))
            done_message = _("Appeal recorded.")
        elif action == "upload":
            document_upload(agency=agency, task=task, actor=user, kind=post.get("kind", ""),
                            upload=request.FILES.get("file"), item=item() if post.get("item") else None)
            done_message = _("Document uploaded: check the item again.")
        elif action == "execute":
            execution.execution_start(agency=agency, task=task, actor=user)
            done_message = _("Execution started: the first tier is open.")
        elif action == "tier_start":
            execution.tier_start(agency=agency, tier=tier(), actor=user)
            done_message = _("Tier opened.")
        elif action == "tier_close":
            execution.tier_close(agency=agency, tier=tier(), actor=user)
        elif action == "tier_run":
            result = execution.tier_run_connector(agency=agency, tier=tier(), actor=user)
            done_message = _("Connector run: %(done)s done, %(failed)s failed.") % result
        elif action == "done":
            execution.item_mark_done(agency=agency, item=item(), actor=user,
                                     receipt_number=post.get("receipt_number", ""),
                                     screenshot=request.FILES.get("screenshot"))
            done_message = _("Item marked done.")
        if action in CONFIRMED_ACTIONS:
            task.refresh_from_db()
            done_message = f"{done_message} {what_next(task)}".strip()
        elif action == "failed":
            execution.item_mark_failed(agency=agency, item=item(), actor=user, reason=post.get("reason", ""))
        elif action == "retry":
            execution.item_retry(agency=agency, item=item(), actor=user)
        messages.success(request, done_message)
        back = post.get("next") or ""
        if not back.startswith(f"/a/{agency.slug}/tasks/"):
            back = reverse("shutdown:task_detail", kwargs={"agency_slug": agency.slug, "pk": task.pk})
        return HttpResponseRedirect(back)


def _local_datetime(value, agency):
    """A `datetime-local` input, read in the agency's time zone (None when empty)."""
    if not value:
        return None
    from datetime import datetime

    try:
        naive = datetime.fromisoformat(value)
    except ValueError as exc:
        raise DomainValidationError(_("“%(v)s” is not a date and time.") % {"v": value},
                                    details={"planned_start": ["invalid"]}) from exc
    return naive.replace(tzinfo=agency.tz) if naive.tzinfo is None else naive


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
