"""Back-office pages of the sub-account registry."""

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.generic import TemplateView

from agency import fields as field_rules
from agency.badges import subaccount_badge_annotate, subaccount_badges, subaccount_links
from agency.db import read_replica
from agency.exceptions import Conflict, DomainValidationError
from agency.exporters.people import (
    CODES,
    GB18030,
    LABELS,
    UTF8,
    default_form,
    export_for_people,
    template_for_people,
)
from agency.filters import ORDERING_FIELDS, SubAccountFilter
from agency.forms import SELECTION_FORM_FIELDS, BulkOwnerForm, BulkTagForm, ImportUploadForm, SubAccountForm
from agency.importers.columns import COLUMNS_BY_NAME
from agency.importers.reader import FileRejected
from agency.importers.subaccounts import PREVIEW_ROWS
from agency.models import AccountKind, Job, Platform, Region, SubAccount, SubAccountImport, SubAccountStatus
from agency.privacy import CONTACT_PERMISSION, masked_contacts
from agency.selectors import subaccount_history, subaccount_list_queryset, subaccount_selection_queryset
from agency.services.audit import export_unmasked_record
from agency.services.imports import read_upload, subaccount_import_cancel, subaccount_import_upload
from agency.services.jobs import (
    subaccount_bulk_job,
    subaccount_export_job,
    subaccount_import_check_job,
    subaccount_import_confirm_or_job,
)
from agency.services.subaccounts import (
    subaccount_archive,
    subaccount_bulk_set_owner,
    subaccount_bulk_tag,
    subaccount_create,
    subaccount_restore,
    subaccount_update,
)

from .base import AgencyScopedView
from .jobs import job_url

HISTORY_ROWS = 200
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
PAGE_SIZES = (25, 50, 100, 200, 500)
# Parameters that are not filters (kept out of the "all matching this filter" querystring).
NON_FILTER_PARAMS = ("page", "page_size", "ids", "from_filter", *SELECTION_FORM_FIELDS)


def filter_querystring(params, *, drop=("page",)) -> str:
    data = params.copy()
    for key in drop:
        data.pop(key, None)
    return data.urlencode()


def _page_size(params) -> int:
    try:
        size = int(params.get("page_size") or DEFAULT_PAGE_SIZE)
    except ValueError:
        return DEFAULT_PAGE_SIZE
    return max(1, min(size, MAX_PAGE_SIZE))


def _get_account(agency, pk) -> SubAccount:
    account = SubAccount.objects.filter(agency=agency, pk=pk).select_related("parent").first()
    if account is None:
        raise Http404(_("No such sub-account."))
    return account


def _list_url(agency) -> str:
    return reverse("agency:subaccount_list", kwargs={"agency_slug": agency.slug})


def _filter_params(data):
    params = data.copy()
    for key in NON_FILTER_PARAMS:
        params.pop(key, None)
    return params


def _selection(request):
    """(ids, params) from a bulk form: the ticked boxes, or the whole filter when from_filter=1
    (only known filter names: a misspelled one is refused, never "every account")."""
    data = request.POST if request.method == "POST" else request.GET
    if data.get("from_filter"):
        return None, _filter_params(data)
    ids = data.getlist("ids")
    if not ids:
        raise DomainValidationError(_("Select at least one sub-account, or tick “all matching this filter”."))
    return ids, None


class SubAccountListView(AgencyScopedView, TemplateView):
    template_name = "agency/subaccount_list.html"
    required_permission = "subaccounts.view"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        params = self.request.GET
        # The list may read from the replica (agency/db.py).
        accounts = read_replica(SubAccount.objects.filter(agency=self.agency), user=self.request.user)
        filterset = SubAccountFilter(data=params, queryset=accounts)
        if filterset.is_valid():
            queryset = subaccount_badge_annotate(
                subaccount_list_queryset(agency=self.agency, filterset_qs=filterset.qs))
        else:
            queryset = SubAccount.objects.none()
        paginator = Paginator(queryset, _page_size(params))
        page = paginator.get_page(params.get("page"))
        ordering = params.get("ordering", "")
        context.update(
            filter=filterset,
            badges=subaccount_badges(agency=self.agency, accounts=page.object_list),
            page_obj=page,
            subaccounts=page.object_list,
            paginator=paginator,
            page_size=_page_size(params),
            page_sizes=PAGE_SIZES,
            ordering=ordering,
            querystring=filter_querystring(params),
            filter_only_querystring=filter_querystring(params, drop=NON_FILTER_PARAMS),
            sort_links=self._sort_links(params, ordering),
            platforms=Platform.choices,
            kinds=AccountKind.choices,
            statuses=SubAccountStatus.choices,
            regions=Region.choices,
            filtered=any(params.get(k) for k in SubAccountFilter.base_filters if k != "ordering"),
            task_create_url=reverse("shutdown:task_create", kwargs={"agency_slug": self.agency.slug}),
            tag_form=BulkTagForm(),
            owner_form=BulkOwnerForm(),
            can_edit=self.access.can("subaccounts.edit"),
            can_import=self.access.can("subaccounts.import"),
            can_export=self.access.can("subaccounts.export"),
            can_task=self.access.can("tasks.edit"),
            can_see_contacts=self.access.can(CONTACT_PERMISSION),
            export_form=default_form(),
        )
        return context

    def _sort_links(self, params, current: str) -> dict:
        links = {}
        for name in ORDERING_FIELDS:
            data = params.copy()
            data.pop("page", None)
            data["ordering"] = f"-{name}" if current == name else name
            links[name] = {"url": "?" + data.urlencode(),
                           "state": "asc" if current == name else "desc" if current == f"-{name}" else ""}
        return links


class SubAccountDetailView(AgencyScopedView, TemplateView):
    template_name = "agency/subaccount_detail.html"
    required_permission = "subaccounts.view"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        account = _get_account(self.agency, kwargs["pk"])
        context.update(
            account=account,
            children=list(account.children.filter(agency=self.agency).order_by("platform", "display_name")[:100]),
            related_links=subaccount_links(agency=self.agency, account=account),
            can_see_contacts=self.access.can(CONTACT_PERMISSION),
            history=_history_rows(subaccount_history(agency=self.agency, subaccount_id=account.pk)[:HISTORY_ROWS],
                                  may_see=self.access.can(CONTACT_PERMISSION)),
            can_edit=self.access.can("subaccounts.edit"),
        )
        return context


def _shown(value) -> str:
    if value in (None, "", []):
        return "—"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if value is True:
        return _("yes")
    if value is False:
        return _("no")
    return str(value)


def _field_value(field, value) -> str:
    """A stored value as words: a choice by its label (“已关停”, not `shut_down`)."""
    if field is not None and field.choices and value not in (None, ""):
        return str(dict(field.flatchoices).get(value, value))
    return _shown(value)


def _history_rows(changes, *, may_see: bool) -> list[dict]:
    by_name = {f.name: f for f in SubAccount._meta.fields}
    by_name.update({f.attname: f for f in SubAccount._meta.fields})
    rows = []
    for c in changes:
        fields = []
        for name, pair in masked_contacts(c.changes or {}, may_see=may_see).items():
            field = by_name.get(name)
            label = field.verbose_name if field is not None else name.replace("_", " ")
            fields.append((label, _field_value(field, pair[0]), _field_value(field, pair[1])))
        rows.append({"change": c, "fields": fields})
    return rows


class _SubAccountFormView(AgencyScopedView, TemplateView):
    template_name = "agency/subaccount_form.html"
    required_permission = "subaccounts.edit"

    def get_account(self):
        return None

    def get(self, request, *args, **kwargs):
        account = self.get_account()
        form = SubAccountForm(instance=account or SubAccount(agency=self.agency), agency=self.agency,
                              may_see_contacts=self.access.can(CONTACT_PERMISSION))
        return self.render_to_response(self.get_context_data(form=form, account=account))

    def post(self, request, *args, **kwargs):
        account = self.get_account()
        form = SubAccountForm(request.POST, instance=account or SubAccount(agency=self.agency), agency=self.agency,
                              may_see_contacts=self.access.can(CONTACT_PERMISSION))
        if form.is_valid():
            data = {k: form.cleaned_data[k] for k in form.Meta.fields if k in form.cleaned_data}
            try:
                account = self.save(data)
            except DomainValidationError as exc:
                for field, errors in exc.details.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
            except Conflict as exc:  # e.g. R9.3: no reopening before the reopen date
                form.add_error("status" if "status" in form.fields else None, str(exc.message))
                return self.render_to_response(self.get_context_data(form=form, account=account), status=409)
            else:
                messages.success(request, _("Saved “%(name)s”.") % {"name": account.display_name})
                return HttpResponseRedirect(
                    reverse("agency:subaccount_detail", kwargs={"agency_slug": self.agency.slug, "pk": account.pk}))
        return self.render_to_response(self.get_context_data(form=form, account=account), status=400)


class SubAccountCreateView(_SubAccountFormView):
    def save(self, data):
        return subaccount_create(agency=self.agency, actor=self.request.user, data=data)


class SubAccountEditView(_SubAccountFormView):
    def get_account(self):
        return _get_account(self.agency, self.kwargs["pk"])

    def save(self, data):
        return subaccount_update(agency=self.agency, actor=self.request.user, subaccount_id=self.kwargs["pk"],
                                 data=data)


class SubAccountArchiveView(AgencyScopedView):
    required_permission = "subaccounts.edit"
    restore = False

    def post(self, request, pk):
        account = _get_account(self.agency, pk)
        service = subaccount_restore if self.restore else subaccount_archive
        service(agency=self.agency, actor=request.user, subaccount_id=account.pk)
        messages.success(request, (_("Restored “%(name)s”.") if self.restore else _("Archived “%(name)s”."))
                         % {"name": account.display_name})
        return HttpResponseRedirect(reverse("agency:subaccount_detail",
                                            kwargs={"agency_slug": self.agency.slug, "pk": account.pk}))


class SubAccountRestoreView(SubAccountArchiveView):
    restore = True


class SubAccountBulkView(AgencyScopedView):
    """POST from the list page: action=tag or action=owner, on ticked ids or on the whole filter."""

    required_permission = "subaccounts.edit"

    def post(self, request):
        back = _list_url(self.agency) + ("?" + request.POST["return_qs"] if request.POST.get("return_qs") else "")
        ids, params = _selection(request)
        action = request.POST.get("action")
        job = self._as_job(action, ids, params)
        if job is not None:
            messages.info(request, _("%(n)d sub-accounts are more than a page should wait for: the change runs in "
                                     "the background. This page shows its progress.") % {"n": job.progress_total})
            return HttpResponseRedirect(job_url(job))
        if action == "tag":
            form = BulkTagForm(request.POST)
            form.is_valid()
            changed = subaccount_bulk_tag(agency=self.agency, actor=request.user, ids=ids, params=params,
                                          add=form.cleaned_data.get("add_tags"),
                                          remove=form.cleaned_data.get("remove_tags"))
        elif action == "owner":
            form = BulkOwnerForm(request.POST)
            if not form.is_valid():
                raise DomainValidationError("; ".join(str(e) for errs in form.errors.values() for e in errs))
            changed = subaccount_bulk_set_owner(agency=self.agency, actor=request.user, ids=ids, params=params,
                                                **form.cleaned_data)
        else:
            raise DomainValidationError(_("Choose a bulk action."))
        messages.success(request, _("%(n)d sub-accounts changed.") % {"n": changed})
        return HttpResponseRedirect(back)

    def _as_job(self, action, ids, params) -> Job | None:
        """A selection over BULK_JOB_THRESHOLD_ACCOUNTS accounts: a background job (None: now)."""
        if action == "tag":
            form = BulkTagForm(self.request.POST)
            form.is_valid()
            return subaccount_bulk_job(agency=self.agency, actor=self.request.user, action="tag", ids=ids,
                                       params=params, add=form.cleaned_data.get("add_tags"),
                                       remove=form.cleaned_data.get("remove_tags"))
        if action == "owner":
            form = BulkOwnerForm(self.request.POST)
            if form.is_valid():
                return subaccount_bulk_job(agency=self.agency, actor=self.request.user, action="owner", ids=ids,
                                           params=params, values=form.cleaned_data)
        return None


def _export_form(params) -> str:
    """`form=labels|codes`; the older `header=zh|en` still works; default: labels in zh-hans."""
    if params.get("form") in (LABELS, CODES):
        return params["form"]
    if params.get("header") in ("zh", "en"):
        return LABELS if params["header"] == "zh" else CODES
    return default_form()


def _export_encoding(params) -> str:
    return GB18030 if params.get("encoding") == GB18030 else UTF8


class SubAccountExportView(AgencyScopedView):
    """Export the ticked ids or the current filter as CSV (default) or XLSX: GET from the list's
    links (no token in them), POST from the selection form (its CSRF token stays in the body)."""

    required_permission = "subaccounts.export"

    def get(self, request):
        return self._export(request.GET)

    def post(self, request):
        return self._export(request.POST)

    def _export(self, data):
        fmt = "xlsx" if data.get("format") == "xlsx" else "csv"
        ids = data.getlist("ids") if not data.get("from_filter") else None
        queryset = read_replica(
            subaccount_selection_queryset(agency=self.agency, ids=ids or None, params=_filter_params(data)),
            user=self.request.user,
        )
        form, encoding = _export_form(data), _export_encoding(data)
        masked = not self.access.can(CONTACT_PERMISSION)
        count = queryset.count()
        if not masked:
            params = {k: v for k, v in data.lists() if k not in ("csrfmiddlewaretoken",)}
            export_unmasked_record(agency=self.agency, actor=self.request.user, fmt=fmt, form=form,
                                   rows=count, params=params)
        job = subaccount_export_job(agency=self.agency, actor=self.request.user, count=count, ids=ids or None,
                                    params=_filter_params(data), fmt=fmt, form=form, encoding=encoding, masked=masked)
        if job is not None:
            messages.info(self.request, _("%(n)d sub-accounts are exported in the background; the file will be "
                                          "ready to download on this page.") % {"n": count})
            return HttpResponseRedirect(job_url(job))
        return export_for_people(agency=self.agency, queryset=queryset, fmt=fmt, form=form, encoding=encoding,
                                 masked=masked)


class SubAccountImportTemplateView(AgencyScopedView):
    required_permission = "subaccounts.view"

    def get(self, request):
        fmt = "xlsx" if request.GET.get("format") == "xlsx" else "csv"
        return template_for_people(fmt=fmt, form=_export_form(request.GET), encoding=_export_encoding(request.GET))


class SubAccountImportView(AgencyScopedView, TemplateView):
    """Upload → preview (nothing written) → confirm."""

    template_name = "agency/subaccount_import.html"
    required_permission = "subaccounts.import"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["max_mb"] = settings.MAX_UPLOAD_BYTES // (1024 * 1024)
        return context

    def get(self, request, *args, **kwargs):
        return self.render_to_response(self.get_context_data(form=ImportUploadForm()))

    def post(self, request, *args, **kwargs):
        form = ImportUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        upload = form.cleaned_data["file"]
        try:
            content = read_upload(upload)
        except FileRejected as exc:
            form.add_error("file", str(exc))
            return self.render_to_response(self.get_context_data(form=form), status=400)
        job = subaccount_import_check_job(agency=self.agency, actor=request.user, content=content,
                                          filename=upload.name)
        if job is not None:
            messages.info(request, _("The file has about %(n)d rows: it is checked in the background. This page "
                                     "shows the progress, then what the import would do.") % {"n": job.progress_total})
            return HttpResponseRedirect(job_url(job))
        try:
            batch, plan = subaccount_import_upload(agency=self.agency, actor=request.user,
                                                   content=content, filename=upload.name)
        except FileRejected as exc:
            form.add_error("file", str(exc))
            return self.render_to_response(self.get_context_data(form=form), status=400)
        return render(request, "agency/subaccount_import_preview.html",
                      self.get_context_data(batch=batch, plan=plan, preview=_preview(plan)))


def _column_words(name: str) -> str:
    """A column by its name in the page's language (the header as written is shown next to it)."""
    try:
        return str(SubAccount._meta.get_field(name).verbose_name)
    except Exception:  # noqa: BLE001 - a column that is not a model field keeps its name
        return name


def _cell_words(name: str, raw):
    """A choice or yes/no cell as words (“抖音”, “否”) whether written as a label or a code."""
    column = COLUMNS_BY_NAME.get(name)
    if column is None or raw in ("", None):
        return raw
    try:
        if column.kind == "choice":
            return str(column.choices(field_rules.choice(column.choices, raw)).label)
        if column.kind == "bool":
            return _("yes") if field_rules.yes_no(raw) else _("no")
    except field_rules.FieldError:
        return raw
    return raw


def _cell_note(name: str, raw) -> str:
    """How a cell was read where that is not plain from it: a two-digit year (26年12月31日)."""
    column = COLUMNS_BY_NAME.get(name)
    if column is None or column.kind != "date" or raw in ("", None):
        return ""
    try:
        read = field_rules.short_year_date(raw)
    except field_rules.FieldError:
        return ""
    if read is None:
        return ""
    return _("read as %(date)s (two-digit year, this century)") % {"date": read.isoformat()}


def _preview(plan) -> dict:
    """The rows the preview table shows: every row with an error first, then the others, capped."""
    error_rows = [r for r in plan.rows if r.errors]
    other_rows = [r for r in plan.rows if not r.errors]
    rows = (error_rows + other_rows)[:PREVIEW_ROWS]
    columns = [(name, _column_words(name), title) for name, title in plan.columns]
    table = []
    for r in rows:
        cells = [{"value": _cell_words(name, r.cells.get(name, "")), "error": r.errors.get(name, ""),
                  "note": "" if name in r.errors else _cell_note(name, r.cells.get(name, ""))}
                 for name, _title in plan.columns]
        table.append({"row": r.row, "action": r.action, "cells": cells, "errors": r.errors})
    return {"columns": columns, "rows": table, "truncated": len(plan.rows) > len(rows), "total": len(plan.rows),
            "created": plan.count("create"), "updated": plan.count("update"), "unchanged": plan.count("unchanged"),
            "errors": plan.errors, "error_rows": len(error_rows), "ignored_columns": plan.ignored_columns}


class SubAccountImportConfirmView(AgencyScopedView):
    """POST only: applying a previewed file is a write (a GET answers 405, not an empty page)."""

    required_permission = "subaccounts.import"

    def post(self, request, import_id):
        batch = SubAccountImport.objects.filter(agency=self.agency, pk=import_id).first()
        if batch is None:
            raise Http404(_("No such import."))
        answer = subaccount_import_confirm_or_job(agency=self.agency, actor=request.user, import_id=batch.pk)
        if isinstance(answer, Job):
            messages.info(request, _("The file has %(n)d rows: it is imported in the background. This page shows "
                                     "its progress.") % {"n": answer.progress_total})
            return HttpResponseRedirect(job_url(answer))
        if answer["applied"]:
            messages.success(request, _("Imported: %(created)d created, %(updated)d updated, %(unchanged)d unchanged.")
                             % answer)
            return HttpResponseRedirect(_list_url(self.agency) + "?" + urlencode({"ordering": "-updated_at"}))
        messages.error(request, _("The file no longer imports cleanly: nothing was written. Fix the rows below "
                                  "and upload it again."))
        return HttpResponseRedirect(reverse("agency:subaccount_import", kwargs={"agency_slug": self.agency.slug}))


class SubAccountImportCancelView(AgencyScopedView):
    """POST only: drop a previewed file (nothing imported; the file is deleted from storage)."""

    required_permission = "subaccounts.import"

    def post(self, request, import_id):
        try:
            subaccount_import_cancel(agency=self.agency, actor=request.user, import_id=import_id)
        except SubAccountImport.DoesNotExist as exc:
            raise Http404(_("No such import.")) from exc
        messages.info(request, _("Import cancelled: nothing was written and the uploaded file was deleted."))
        return HttpResponseRedirect(reverse("agency:subaccount_import", kwargs={"agency_slug": self.agency.slug}))
