"""Agency-scoped pages of the approvals app (all under /a/<agency_slug>/approvals/)."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views import View

from agency.exceptions import DomainError, DomainValidationError
from agency.security import step_up_redirect
from agency.views.base import AgencyScopedView
from shutdown.confirmations import confirmation_valid
from shutdown.event_words import event_group_label
from shutdown.events import chain_verify
from shutdown.models import ShutdownTask
from shutdown.services import lifecycle

from ..audit import audit_export, audit_export_filename
from ..forms import DelegationForm, LevelFormSet, PolicyForm
from ..models import Appeal, ApprovalLevel, ApprovalPolicy, Delegation, SignatureRequest
from ..selectors import approval_page, delegations_list, signatures_for_task, task_events
from ..services import actions as acts
from ..services import decisions as svc
from ..services.common import client_meta
from ..services.delegations import delegation_create, delegation_revoke
from ..services.policy import approval_policy_delete, approval_policy_save
from ..services.signatures import signature_resend, signature_revoke
from .signing_admin import signature_qr_page

PAGE_SIZE = 50


def _task_page(agency, task) -> str:
    return reverse("shutdown:task_detail", kwargs={"agency_slug": agency.slug, "pk": task.pk})


def _back(request, fallback: str):
    target = request.POST.get("next") or fallback
    if not target.startswith("/") or target.startswith("//"):
        target = fallback
    return HttpResponseRedirect(target)


class PolicyListView(AgencyScopedView, View):
    required_permission = "approvals.policy"

    def get(self, request):
        policies = ApprovalPolicy.objects.prefetch_related(
            Prefetch("levels", queryset=ApprovalLevel.objects.order_by("position").prefetch_related("members"))
        ).order_by("strategy", "name")
        return render(request, "approvals/policy_list.html", self.get_context_data(policies=policies))


class PolicyEditView(AgencyScopedView, View):
    required_permission = "approvals.policy"
    step_up_for = frozenset({"POST"})

    def _policy(self, pk):
        return get_object_or_404(ApprovalPolicy.objects.all(), pk=pk) if pk else None

    def get(self, request, pk=None):
        policy = self._policy(pk)
        initial_levels = []
        if policy is not None:
            for level in policy.levels.order_by("position").prefetch_related("members"):
                initial_levels.append({"name": level.name, "role": level.role, "members": list(level.members.all()),
                                       "mode": level.mode, "required_count": level.required_count,
                                       "sla_hours": level.sla_hours})
        form = PolicyForm(initial={"name": policy.name, "strategy": policy.strategy, "is_active": policy.is_active}
                          if policy else None)
        formset = LevelFormSet(initial=initial_levels, form_kwargs={"agency": self.agency}, prefix="levels")
        return render(request, "approvals/policy_form.html",
                      self.get_context_data(policy=policy, form=form, formset=formset))

    def post(self, request, pk=None):
        policy = self._policy(pk)
        form = PolicyForm(request.POST)
        formset = LevelFormSet(request.POST, form_kwargs={"agency": self.agency}, prefix="levels")
        error = None
        if form.is_valid() and formset.is_valid():
            levels = [f.cleaned_data for f in formset.forms
                      if f.cleaned_data and not f.cleaned_data.get("DELETE") and f.cleaned_data.get("name")]
            try:
                approval_policy_save(agency=self.agency, policy=policy, name=form.cleaned_data["name"],
                                     strategy=form.cleaned_data["strategy"],
                                     is_active=form.cleaned_data["is_active"], levels=levels)
            except DomainValidationError as exc:
                error = _policy_error(exc, form)
            else:
                messages.success(request, _("The approval policy was saved."))
                return HttpResponseRedirect(reverse("approvals:policy", kwargs={"agency_slug": self.agency.slug}))
        return render(request, "approvals/policy_form.html",
                      self.get_context_data(policy=policy, form=form, formset=formset, error=error), status=400)


def _policy_error(exc, form) -> dict:
    """The service's errors in words: a form field's next to it, a level's as “第 2 级：…”."""
    rows = []
    for key, problems in (exc.details or {}).items():
        if key in form.fields:
            for problem in problems:
                form.add_error(key, problem)
            continue
        number = key.split(" ")[-1] if key.startswith("level ") else ""
        label = _("Level %(n)s") % {"n": number} if number else (_("Levels") if key == "levels" else "")
        rows.append((label, " ".join(str(p) for p in problems)))
    return {"message": exc.message, "rows": rows}


class PolicyDeleteView(AgencyScopedView, View):
    required_permission = "approvals.policy"
    step_up_for = frozenset({"POST"})

    def post(self, request, pk):
        policy = get_object_or_404(ApprovalPolicy.objects.all(), pk=pk)
        approval_policy_delete(agency=self.agency, policy=policy)
        messages.success(request, _("The approval policy was deleted."))
        return HttpResponseRedirect(reverse("approvals:policy", kwargs={"agency_slug": self.agency.slug}))


ACTIONS = {
    # action: (permissions, any one of which allows it; success message, lazy: in the request's language)
    "submit": (("tasks.submit",), _lazy("The task was submitted for approval.")),
    "approve": (("approvals.decide",), _lazy("Your approval was recorded.")),
    "reject": (("approvals.decide",), _lazy("The task was rejected and went back to draft.")),
    "withdraw": (("tasks.submit",), _lazy("The task was withdrawn and is a draft again.")),
    "cancel": (("tasks.cancel",), _lazy("The task was cancelled. Its accounts are free for another task.")),
    "appeal": (("tasks.submit",), _lazy("Your appeal was sent to the agency owner.")),
    "add_approver": (("approvals.decide",), _lazy("The approver was added.")),
    "hand_over": (("approvals.decide",), _lazy("The decision was handed over.")),
    "send_back": (("approvals.decide",), _lazy("The task was sent back to the previous level.")),
    "copy": (("approvals.decide", "tasks.submit"), _lazy("The members were copied.")),
    "urge": (("tasks.submit",), _lazy("The approvers were reminded.")),
}


class TaskActionView(AgencyScopedView, View):
    """POST from the approval panel or page. Rule violations come back as a message (base class)."""

    required_permission = "tasks.view"

    def post(self, request, pk, action):
        if action not in ACTIONS:
            raise Http404
        permissions, success = ACTIONS[action]
        if not any(self.access.can(p) for p in permissions):
            from django.core.exceptions import PermissionDenied

            from agency.tenancy import permission_denied_message

            raise PermissionDenied(permission_denied_message(permissions[0]))
        if action in ("approve", "reject"):  # a decision needs a recent second factor
            needed = step_up_redirect(request, agency=self.agency, role=self.access.role)
            if needed:
                return needed
        task = get_object_or_404(ShutdownTask.objects.all(), pk=pk)
        if action == "cancel" and not confirmation_valid(request.POST, user=request.user, task_id=task.pk,
                                                         action="cancel"):
            # Irreversible: only from its confirmation page (shutdown/confirmations.py).
            return HttpResponseRedirect(reverse("shutdown:confirm", kwargs={
                "agency_slug": self.agency.slug, "pk": task.pk, "action": "cancel"}))
        comment = request.POST.get("comment", "")
        meta = client_meta(request)
        kwargs = {"agency": self.agency, "task": task, "actor": request.user}
        stage_id = request.POST.get("stage") or None
        try:
            if action == "submit":
                svc.task_submit(**kwargs, comment=comment, **meta)
            elif action in ("approve", "reject"):
                svc.approval_decide(**kwargs, decision=action, comment=comment, stage_id=stage_id,
                                    attachments=request.FILES.getlist("attachments"), **meta)
            elif action == "withdraw":
                svc.task_withdraw(**kwargs, comment=comment, **meta)
            elif action == "cancel":
                lifecycle.task_cancel(**kwargs, comment=comment, **meta)
            elif action == "add_approver":
                acts.approval_add_approver(**kwargs, user=request.POST.get("user"), where=request.POST.get("where", ""),
                                           comment=comment, stage_id=stage_id, **meta)
            elif action == "hand_over":
                acts.approval_hand_over(**kwargs, user=request.POST.get("user"), comment=comment, stage_id=stage_id,
                                        **meta)
            elif action == "send_back":
                acts.approval_send_back(**kwargs, comment=comment, stage_id=stage_id, **meta)
            elif action == "copy":
                acts.approval_copy(**kwargs, users=request.POST.getlist("users"), comment=comment, **meta)
            elif action == "urge":
                acts.approval_urge(**kwargs, comment=comment, stage_id=stage_id, **meta)
            else:
                svc.appeal_file(**kwargs, reason=comment)
        except DomainError as exc:
            # A rule said no: back to the page with the reason; nothing was written.
            messages.error(request, str(exc.message))
        else:
            messages.success(request, success)
        return _back(request, _task_page(self.agency, task))


class TaskApprovalView(AgencyScopedView, View):
    """The approval page of a task: what is approved (totals), the consequences with dates, the
    levels and decisions, and every approval action; on a phone the decision buttons stay in a
    bar at the bottom of the screen."""

    required_permission = "tasks.view"

    def get(self, request, pk):
        task = get_object_or_404(ShutdownTask.objects.all(), pk=pk)
        context = approval_page(agency=self.agency, task=task, user=request.user, access=self.access)
        return render(request, "approvals/task_approval.html", self.get_context_data(
            task=task, task_url=_task_page(self.agency, task), **context))


class AppealDecideView(AgencyScopedView, View):
    required_permission = "approvals.policy"

    def post(self, request, pk):
        appeal = get_object_or_404(Appeal.objects.select_related("task"), pk=pk)
        uphold = request.POST.get("decision") == "uphold"
        try:
            svc.appeal_decide(agency=self.agency, appeal=appeal, actor=request.user, uphold=uphold,
                              comment=request.POST.get("comment", ""))
        except DomainError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("The appeal was upheld: resubmit the task to continue.") if uphold
                             else _("The appeal was denied."))
        return _back(request, _task_page(self.agency, appeal.task))


class TaskAuditView(AgencyScopedView, View):
    """The hash-chained trail of a task, with Verify, JSON export and a printable page."""

    required_permission = "audit.view"
    printable = False

    def get(self, request, pk):
        task = get_object_or_404(ShutdownTask.objects.all(), pk=pk)
        kind = request.GET.get("kind", "")
        order = "-seq" if request.GET.get("sort") == "-seq" else "seq"
        events = task_events(task=task, kind=kind).order_by(order)
        verification = chain_verify(task=task) if (request.GET.get("verify") or self.printable) else None
        if self.printable:
            page = None
            rows = list(events)
        else:
            page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
            rows = page.object_list
        groups = sorted({k.split(".")[0] for k in task_events(task=task).values_list("kind", flat=True).distinct()})
        kinds = [(group, event_group_label(group)) for group in groups]
        return render(request, "approvals/audit_print.html" if self.printable else "approvals/audit.html",
                      self.get_context_data(task=task, events=rows, page_obj=page, verification=verification,
                                            kind=kind, sort=order, kinds=kinds, task_url=_task_page(self.agency, task),
                                            now=timezone.now()))


class TaskAuditPrintView(TaskAuditView):
    required_permission = "audit.export"
    printable = True


class TaskAuditExportView(AgencyScopedView, View):
    required_permission = "audit.export"

    def get(self, request, pk):
        task = get_object_or_404(ShutdownTask.objects.all(), pk=pk)
        response = JsonResponse(audit_export(agency=self.agency, task=task),
                                json_dumps_params={"ensure_ascii": False, "indent": 2})
        response["Content-Disposition"] = f'attachment; filename="{audit_export_filename(task=task)}"'
        return response


SIGNATURE_SORTS = {"id": "id", "state": "state", "owner": "owner_name", "-completed": "-completed_at"}


class TaskSignatureListView(AgencyScopedView, View):
    required_permission = "tasks.view"

    def get(self, request, pk):
        task = get_object_or_404(ShutdownTask.objects.all(), pk=pk)
        state, query = request.GET.get("state", ""), request.GET.get("q", "").strip()
        sort = request.GET.get("sort", "id")
        qs = signatures_for_task(task=task, state=state if state in SignatureRequest.State.values else "",
                                 query=query, ordering=SIGNATURE_SORTS.get(sort, "id"))
        page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
        return render(request, "approvals/signature_list.html", self.get_context_data(
            task=task, page_obj=page, signatures=page.object_list, state=state, q=query, sort=sort,
            states=SignatureRequest.State.choices, task_url=_task_page(self.agency, task),
            can_manage=self.access.can("signatures.manage"), can_forward=self.access.can("signatures.forward")))


class SignatureActionView(AgencyScopedView, View):
    required_permission = "signatures.manage"

    def post(self, request, pk, action):
        req = get_object_or_404(SignatureRequest.objects.select_related("task"), pk=pk)
        if action not in ("resend", "revoke", "qr"):
            raise Http404
        if action == "qr":
            return signature_qr_page(request, agency=self.agency, access=self.access, req=req)
        try:
            if action == "resend":
                signature_resend(agency=self.agency, signature=req, actor=request.user)
                messages.success(request, _("A new signing link was sent; the old one no longer works."))
            else:
                signature_revoke(agency=self.agency, signature=req, actor=request.user)
                messages.success(request, _("The signing link was revoked."))
        except DomainError as exc:
            messages.error(request, str(exc.message))
        return _back(request, reverse("approvals:task_signatures",
                                      kwargs={"agency_slug": self.agency.slug, "pk": req.task_id}))


class DelegationListView(AgencyScopedView, View):
    required_permission = "tasks.view"
    permission_by_method = {"POST": "approvals.decide"}

    def _render(self, request, form, status=200):
        state = request.GET.get("state", "")
        sort = request.GET.get("sort", "-starts_at")
        qs = delegations_list(state=state, ordering=sort if sort in ("starts_at", "-starts_at", "ends_at",
                                                                     "-ends_at") else "-starts_at")
        page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
        return render(request, "approvals/delegation_list.html", self.get_context_data(
            form=form, page_obj=page, delegations=page.object_list, state=state, sort=sort, now=timezone.now(),
            can_delegate=self.access.can("approvals.decide"),
            # the button only; `delegation_revoke` enforces "the delegator or an administrator"
            can_revoke_any=self.access.can("approvals.policy")), status=status)

    def get(self, request):
        return self._render(request, DelegationForm(agency=self.agency, user=request.user))

    def post(self, request):
        form = DelegationForm(request.POST, agency=self.agency, user=request.user)
        if form.is_valid():
            try:
                delegation_create(agency=self.agency, delegator=request.user, delegate=form.cleaned_data["delegate"],
                                  starts_at=form.cleaned_data["starts_at"], ends_at=form.cleaned_data["ends_at"],
                                  reason=form.cleaned_data["reason"], actor=request.user)
            except DomainValidationError as exc:
                for field, errs in exc.details.items():
                    form.add_error(field if field in form.fields else None, errs)
            else:
                messages.success(request, _("The delegation was saved."))
                return HttpResponseRedirect(request.path)
        return self._render(request, form, status=400)


class DelegationRevokeView(AgencyScopedView, View):
    required_permission = "approvals.decide"

    def post(self, request, pk):
        delegation = get_object_or_404(Delegation.objects.all(), pk=pk)
        delegation_revoke(agency=self.agency, delegation=delegation, actor=request.user)
        messages.success(request, _("The delegation was revoked."))
        return HttpResponseRedirect(reverse("approvals:delegations", kwargs={"agency_slug": self.agency.slug}))
