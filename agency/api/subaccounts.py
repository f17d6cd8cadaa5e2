"""The sub-account registry API: CRUD, history, bulk actions, import and export."""

from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from agency.api.base import AgencyScopedAPIView, AgencyScopedModelViewSet
from agency.api.errors import error_body
from agency.api.fields import ScopedPrimaryKeyRelatedField
from agency.api.jobs import JOB_ACCEPTED, accepted
from agency.api.schema import ErrorObjectSerializer
from agency.db import read_replica
from agency.exporters.subaccounts import export_response, template_response
from agency.filters import SubAccountFilter
from agency.importers.reader import FileRejected
from agency.models import OwnerRelation, SubAccount, SubAccountChange
from agency.privacy import CONTACT_FIELDS, CONTACT_PERMISSION, masked_contacts, unmask_unchanged
from agency.selectors import subaccount_history, subaccount_selection_queryset
from agency.services.audit import export_unmasked_record
from agency.services.imports import read_upload, rejected_answer, subaccount_import
from agency.services.jobs import (
    subaccount_bulk_job,
    subaccount_export_job,
    subaccount_import_check_job,
    subaccount_import_job_for_upload,
)
from agency.services.subaccounts import (
    EDITABLE_FIELDS,
    subaccount_archive,
    subaccount_bulk_set_owner,
    subaccount_bulk_tag,
    subaccount_create,
    subaccount_restore,
    subaccount_update,
)
from agency.services.tags import TAG_MAX_LENGTH

FILTER_PARAMS = [f for f in SubAccountFilter.base_filters if f != "archived"]


class FileRenderer(BaseRenderer):
    """Lets a client ask for the file's own media type (the view answers the file itself)."""

    media_type = "*/*"
    format = "file"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


class SubAccountSerializer(serializers.ModelSerializer):
    parent = ScopedPrimaryKeyRelatedField(model=SubAccount, allow_null=True, required=False,
                                          help_text="id of the main account (matrix) in the same agency")
    tags = serializers.ListField(child=serializers.CharField(max_length=TAG_MAX_LENGTH), required=False)

    class Meta:
        model = SubAccount
        fields = ["id", *EDITABLE_FIELDS, "archived_at", "created_at", "updated_at"]
        read_only_fields = ["id", "archived_at", "created_at", "updated_at"]
        extra_kwargs = {name: {"help_text": "masked (138****8013, z***@example.cn) unless the member's role may see "
                                            "contacts; a masked value sent back unchanged keeps the stored one"}
                        for name in CONTACT_FIELDS}
        validators: list = []  # the (agency, platform, platform_account_id) rule is checked by the service

    def to_internal_value(self, data):
        # A masked contact sent back as read means "unchanged": dropped before the field's validators
        # (which would call 138****8013 an invalid number); any other masked value is a field error.
        if self.instance is not None and hasattr(data, "keys"):
            shown = {k: data.get(k) for k in CONTACT_FIELDS if k in data}
            kept, errors = unmask_unchanged(shown, current=self.instance)
            if errors:
                raise ValidationError(errors)
            if len(kept) != len(shown):
                data = data.copy()
                for name in set(shown) - set(kept):
                    data.pop(name)
        return super().to_internal_value(data)

    def to_representation(self, instance):
        # PIPL: the account holder's contacts are masked (138****8013) unless the member's role may
        # see them; sending a masked value back unchanged keeps the stored one (the service's rule).
        return masked_contacts(super().to_representation(instance), may_see=_may_see_contacts(self.context))


def _may_see_contacts(context) -> bool:
    view = context.get("view")
    access = getattr(view, "access", None)
    return bool(access is not None and access.can(CONTACT_PERMISSION))


class SubAccountChangeSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()
    import_id = serializers.IntegerField(source="import_batch_id", read_only=True, allow_null=True)

    class Meta:
        model = SubAccountChange
        fields = ["id", "action", "actor", "changes", "import_id", "created_at"]

    def get_actor(self, obj) -> str | None:
        return obj.actor.email if obj.actor else None

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["changes"] = masked_contacts(data.get("changes") or {}, may_see=_may_see_contacts(self.context))
        return data


class BulkSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=["tag", "owner"])
    ids = serializers.ListField(child=serializers.IntegerField(), required=False, allow_empty=False,
                                help_text="the selected sub-account ids (at least one); or give `filter`")
    filter = serializers.DictField(required=False, help_text="the list filters (as query parameters) to act on "
                                                             "every account matching them; an unknown filter name "
                                                             "is a 400 naming it")
    add_tags = serializers.ListField(child=serializers.CharField(max_length=TAG_MAX_LENGTH), required=False)
    remove_tags = serializers.ListField(child=serializers.CharField(max_length=TAG_MAX_LENGTH), required=False)
    owner_name = serializers.CharField(required=False, allow_blank=True)
    owner_mobile = serializers.CharField(required=False, allow_blank=True)
    owner_email = serializers.EmailField(required=False, allow_blank=True)
    owner_relation = serializers.ChoiceField(choices=OwnerRelation.choices, required=False, allow_blank=True)

    def validate(self, attrs):
        if ("ids" in attrs) == ("filter" in attrs):
            raise ValidationError({"ids": [_("Give either ids or filter.")]})
        return attrs


@extend_schema_view(
    list=extend_schema(summary="List sub-accounts (filters, search, ordering, page_size)"),
    retrieve=extend_schema(summary="One sub-account"),
    create=extend_schema(summary="Create a sub-account"),
    update=extend_schema(summary="Replace a sub-account's fields"),
    partial_update=extend_schema(summary="Change some fields of a sub-account"),
    destroy=extend_schema(summary="Archive a sub-account (kept with its history; restore with /restore/)",
                          description="DELETE archives: the account leaves the list (archived=true shows it), "
                                      "keeps its history and can be restored with POST …/restore/. Nothing is "
                                      "deleted."),
)
class SubAccountViewSet(AgencyScopedModelViewSet):
    serializer_class = SubAccountSerializer
    queryset = SubAccount.objects.none()  # for the schema only; get_queryset reads inside the agency scope
    filter_backends = [DjangoFilterBackend]
    filterset_class = SubAccountFilter
    lookup_value_regex = r"\d+"
    default_permission = "subaccounts.view"
    required_permissions = {
        "list": "subaccounts.view",
        "retrieve": "subaccounts.view",
        "history": "subaccounts.view",
        "create": "subaccounts.edit",
        "update": "subaccounts.edit",
        "partial_update": "subaccounts.edit",
        "destroy": "subaccounts.edit",
        "restore": "subaccounts.edit",
        "bulk": "subaccounts.edit",
    }

    def get_queryset(self):
        queryset = SubAccount.objects.filter(agency=self.agency)
        if self.action == "list":  # the list may read from the replica (agency/db.py); the rest not
            return read_replica(queryset, user=self.request.user)
        return queryset

    def filter_queryset(self, queryset):
        # The list filters (which hide archived accounts) apply to the list only: an archived
        # account stays reachable by id, to read its history or restore it.
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def perform_create(self, serializer):
        serializer.instance = subaccount_create(agency=self.agency, actor=self.request.user,
                                                data=dict(serializer.validated_data))

    def perform_update(self, serializer):
        serializer.instance = subaccount_update(agency=self.agency, actor=self.request.user,
                                                subaccount_id=serializer.instance.pk,
                                                data=dict(serializer.validated_data))

    def perform_destroy(self, instance):
        subaccount_archive(agency=self.agency, actor=self.request.user, subaccount_id=instance.pk)

    @extend_schema(summary="Restore an archived sub-account", request=None, responses=SubAccountSerializer)
    @action(detail=True, methods=["post"])
    def restore(self, request, pk=None):
        account = subaccount_restore(agency=self.agency, actor=request.user, subaccount_id=self.get_object().pk)
        return Response(self.get_serializer(account).data)

    @extend_schema(summary="History of a sub-account: who changed what, when, old → new",
                   responses=SubAccountChangeSerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], filter_backends=[])
    def history(self, request, pk=None):
        account = self.get_object()
        changes = subaccount_history(agency=self.agency, subaccount_id=account.pk)
        page = self.paginator.paginate_queryset(changes, request, view=self) if self.paginator else None
        if page is not None:
            return self.paginator.get_paginated_response(
                SubAccountChangeSerializer(page, many=True, context=self.get_serializer_context()).data)
        return Response(SubAccountChangeSerializer(changes, many=True, context=self.get_serializer_context()).data)

    @extend_schema(
        summary="Bulk action on a selection (ids) or on everything matching a filter",
        description="Over more than BULK_JOB_THRESHOLD_ACCOUNTS accounts (1,000 by default) the change runs as "
                    "a background job: 202 with the job to poll.",
        request=BulkSerializer,
        responses={200: inline_serializer("BulkResult", {"changed": serializers.IntegerField()}),
                   202: JOB_ACCEPTED},
    )
    @action(detail=False, methods=["post"], filter_backends=[])
    def bulk(self, request):
        body = BulkSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        selection = {"ids": data.get("ids"), "params": data.get("filter")}
        owner_values = {k: data.get(k) for k in ("owner_name", "owner_mobile", "owner_email", "owner_relation")}
        job = subaccount_bulk_job(agency=self.agency, actor=request.user, action=data["action"], **selection,
                                  add=data.get("add_tags"), remove=data.get("remove_tags"), values=owner_values)
        if job is not None:
            return accepted(request, job)
        if data["action"] == "tag":
            changed = subaccount_bulk_tag(agency=self.agency, actor=request.user, **selection,
                                          add=data.get("add_tags"), remove=data.get("remove_tags"))
        else:
            changed = subaccount_bulk_set_owner(
                agency=self.agency, actor=request.user, **selection,
                **{k: data.get(k) for k in ("owner_name", "owner_mobile", "owner_email", "owner_relation")},
            )
        return Response({"changed": changed})


class SubAccountImportErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(allow_null=True, help_text="row number as the spreadsheet shows it")
    column = serializers.CharField(allow_null=True, help_text="the column title as written in the file")
    field = serializers.CharField(allow_null=True)
    message = serializers.CharField()


def _import_result_fields(required: bool = True) -> dict:
    return {
        "created": serializers.IntegerField(required=required),
        "updated": serializers.IntegerField(required=required),
        "unchanged": serializers.IntegerField(required=required),
        "errors": SubAccountImportErrorSerializer(many=True, required=required),
        "ignored_columns": serializers.ListField(child=serializers.CharField(), required=required),
        "dry_run": serializers.BooleanField(required=required),
        "applied": serializers.BooleanField(required=required),
    }


ImportResultSerializer = inline_serializer("SubAccountImportResult", _import_result_fields())
# A refused import: the one error shape (`error.details.limit` names the limit a file broke: file_size,
# rows, columns, unpacked_size, compression_ratio, time, type), with the import result (nothing written)
# when the file was read.
ImportRefusedSerializer = inline_serializer("SubAccountImportRefused",
                                            {**_import_result_fields(required=False), "error": ErrorObjectSerializer()})
HEADER_CHOICES = ("en", "zh")
CSV_MEDIA_TYPE = "text/csv"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _header(request) -> str:
    """`header=en|zh` (default en), enforced as documented."""
    header = request.query_params.get("header", "en")
    if header not in HEADER_CHOICES:
        raise ValidationError({"header": [_("Choose en or zh.")]})
    return header


def _truthy(value) -> bool:
    return str(value or "").strip().lower() in {"1", "true", "yes", "on"}


class SubAccountImportAPIView(AgencyScopedAPIView):
    parser_classes = [MultiPartParser, FormParser]
    required_permissions = {"POST": "subaccounts.import"}
    default_permission = "subaccounts.import"

    @extend_schema(
        summary="Import sub-accounts from a CSV or XLSX file (all-or-nothing; dry_run=1 previews)",
        description="Columns are the API field names (Chinese titles accepted). Rows are matched by "
                    "(platform, platform_account_id): existing accounts are updated, others created; blank "
                    "cells leave an existing value unchanged. If any row has an error nothing is written "
                    "and the answer is 400 with the same body plus an `error` object. A file of more than "
                    "IMPORT_JOB_THRESHOLD_ROWS rows (5,000 by default) is imported (or, with dry_run, checked) "
                    "by a background job: 202 with the job to poll; its `result` holds the same counts and "
                    "errors.",
        request={"multipart/form-data": inline_serializer("SubAccountImportUpload", {
            "file": serializers.FileField(), "dry_run": serializers.BooleanField(required=False)})},
        parameters=[OpenApiParameter("dry_run", OpenApiTypes.BOOL, description="validate only, write nothing")],
        responses={200: ImportResultSerializer, 400: ImportRefusedSerializer, 202: JOB_ACCEPTED},
    )
    def post(self, request):
        dry_run = _truthy(request.data.get("dry_run") or request.query_params.get("dry_run"))
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationError({"file": [_("Attach the spreadsheet as the multipart field “file”.")]})
        try:
            content = read_upload(upload)
        except FileRejected as exc:
            answer = rejected_answer(exc, dry_run=dry_run)
        else:
            big_upload = subaccount_import_check_job if dry_run else subaccount_import_job_for_upload
            job = big_upload(agency=self.agency, actor=request.user, content=content,
                             filename=upload.name or "upload")
            if job is not None:
                return accepted(request, job)
            answer = subaccount_import(agency=self.agency, actor=request.user, content=content,
                                       filename=upload.name or "upload", dry_run=dry_run)
        if "error" in answer:
            return Response(answer, status=status.HTTP_400_BAD_REQUEST)
        file_level = any(e["row"] is None for e in answer["errors"])
        if (answer["errors"] and not dry_run) or file_level:
            message = answer["errors"][0]["message"] if file_level else _(
                "%(n)d problems in the file: nothing was imported.") % {"n": len(answer["errors"])}
            answer.update(error_body(400, "invalid_import", message))
            return Response(answer, status=status.HTTP_400_BAD_REQUEST)
        return Response(answer)


class _FileAPIView(AgencyScopedAPIView):
    """An endpoint that answers a file: CSV or XLSX on success, JSON (the one error shape) on errors,
    whatever the Accept header asked for."""

    fmt = "csv"
    renderer_classes = [JSONRenderer, FileRenderer]

    def finalize_response(self, request, response, *args, **kwargs):
        if isinstance(response, Response) and (response.status_code >= 400 or response.status_code == 202):
            request.accepted_renderer, request.accepted_media_type = JSONRenderer(), "application/json"
        return super().finalize_response(request, response, *args, **kwargs)


def _file_schema(fmt: str, *, big: bool = False, **kwargs):
    media_type = CSV_MEDIA_TYPE if fmt == "csv" else XLSX_MEDIA_TYPE
    responses = {(200, media_type): OpenApiResponse(OpenApiTypes.BINARY)}
    if big:  # an export of many accounts: a job that stores the file
        responses[(202, "application/json")] = JOB_ACCEPTED
    return extend_schema(responses=responses, **kwargs)


TEMPLATE_SCHEMA = {"summary": "The import template: header row and one example row",
                   "parameters": [OpenApiParameter("header", str, enum=list(HEADER_CHOICES),
                                                   description="column titles: API names (default) or Chinese")]}


class _TemplateAPIView(_FileAPIView):
    default_permission = "subaccounts.view"

    def get(self, request):
        return template_response(fmt=self.fmt, header=_header(request))


class SubAccountTemplateCSVAPIView(_TemplateAPIView):
    fmt = "csv"

    @_file_schema("csv", **TEMPLATE_SCHEMA)
    def get(self, request):
        return super().get(request)


class SubAccountTemplateXLSXAPIView(_TemplateAPIView):
    fmt = "xlsx"

    @_file_schema("xlsx", **TEMPLATE_SCHEMA)
    def get(self, request):
        return super().get(request)


EXPORT_SCHEMA = {
    "summary": "Export the filtered list (same filters as the list; or repeated `ids`)",
    "description": "An unknown filter name is a 400 naming it. More than EXPORT_JOB_THRESHOLD_ROWS accounts "
                   "(5,000 by default): 202 with a background job to poll; its `download_url` gives the file.",
    "parameters": [OpenApiParameter("ids", int, many=True, description="export only these accounts"),
                   OpenApiParameter("header", str, enum=list(HEADER_CHOICES)),
                   *[OpenApiParameter(name, str) for name in FILTER_PARAMS]],
}


class _ExportAPIView(_FileAPIView):
    default_permission = "subaccounts.export"

    def get(self, request):
        ids = request.query_params.getlist("ids") or None
        header = _header(request)
        queryset = read_replica(
            subaccount_selection_queryset(agency=self.agency, ids=ids, params=request.query_params),
            user=request.user,
        )
        masked = not self.access.can(CONTACT_PERMISSION)
        if not masked:  # PIPL: an export with full contacts is an audit event
            export_unmasked_record(agency=self.agency, actor=request.user, fmt=self.fmt, form="codes",
                                   rows=queryset.count(), params=dict(request.query_params.lists()))
        params = {k: v for k, v in request.query_params.lists() if k not in ("ids", "header", "format")}
        job = subaccount_export_job(agency=self.agency, actor=request.user, count=queryset.count(), ids=ids,
                                    params=params, fmt=self.fmt, header=header, masked=masked)
        if job is not None:
            return accepted(request, job)
        return export_response(agency=self.agency, queryset=queryset, fmt=self.fmt, header=header, masked=masked)


class SubAccountExportCSVAPIView(_ExportAPIView):
    fmt = "csv"

    @_file_schema("csv", big=True, **EXPORT_SCHEMA)
    def get(self, request):
        return super().get(request)


class SubAccountExportXLSXAPIView(_ExportAPIView):
    fmt = "xlsx"

    @_file_schema("xlsx", big=True, **EXPORT_SCHEMA)
    def get(self, request):
        return super().get(request)
