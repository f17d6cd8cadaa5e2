"""Bulk work inside a task through the API: the bulk actions of the task page, and the platform
receipts import (the same file as the page; all-or-nothing; dry_run=1 previews)."""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from agency.api.base import AgencyScopedAPIView
from agency.api.errors import error_body
from agency.api.jobs import JOB_ACCEPTED, accepted
from agency.api.schema import ErrorObjectSerializer
from agency.importers.reader import FileRejected
from agency.models import Job
from agency.services.imports import read_upload
from shutdown.filters import ITEM_FILTERS
from shutdown.models import ShutdownTask
from shutdown.services import bulk
from shutdown.services.bulk_jobs import bulk_run_or_job, receipts_job_for_upload
from shutdown.services.receipts import receipts_import


class ReceiptErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(allow_null=True, help_text="row number as the spreadsheet shows it")
    column = serializers.CharField(allow_null=True, help_text="the column title as written in the file")
    field = serializers.CharField(allow_null=True)
    message = serializers.CharField()


def _receipt_fields(required: bool = True) -> dict:
    return {
        "done": serializers.IntegerField(required=required, help_text="items marked done (or that would be)"),
        "rows": serializers.IntegerField(required=required),
        "errors": ReceiptErrorSerializer(many=True, required=required),
        "ignored_columns": serializers.ListField(child=serializers.CharField(), required=required),
        "dry_run": serializers.BooleanField(required=required),
        "applied": serializers.BooleanField(required=required),
    }


ReceiptResultSerializer = inline_serializer("ReceiptImportResult", _receipt_fields())
ReceiptRefusedSerializer = inline_serializer(
    "ReceiptImportRefused", {**_receipt_fields(required=False), "error": ErrorObjectSerializer()}
)


def _truthy(value) -> bool:
    return str(value or "").strip().lower() in {"1", "true", "yes", "on"}


class ReceiptsImportAPIView(AgencyScopedAPIView):
    parser_classes = [MultiPartParser, FormParser]
    required_permissions = {"POST": "tasks.execute"}
    default_permission = "tasks.execute"

    @extend_schema(
        summary="Mark items done from a platform receipts file (CSV or XLSX; all-or-nothing; dry_run=1 previews)",
        description="Columns (Chinese or English headers): 平台/platform, 平台账号ID/platform_account_id (or "
        "条目ID/item, the item id), 回执编号/receipt_number, 生效时间/effective_at (YYYY-MM-DD HH:MM in the "
        "agency's time zone). Each row's item must be executing in an open tier. If any row has an error "
        "nothing is marked done and the answer is 400 with the same body plus an `error` object. "
        "Marking done starts the deadlines exactly as marking each item by hand.",
        request={
            "multipart/form-data": inline_serializer(
                "ReceiptImportUpload",
                {"file": serializers.FileField(), "dry_run": serializers.BooleanField(required=False)},
            )
        },
        parameters=[
            OpenApiParameter("dry_run", OpenApiTypes.BOOL, description="validate only, write nothing")
        ],
        responses={200: ReceiptResultSerializer, 202: JOB_ACCEPTED, 400: ReceiptRefusedSerializer},
    )
    def post(self, request, pk):
        task = get_object_or_404(ShutdownTask, pk=pk)
        dry_run = _truthy(request.data.get("dry_run") or request.query_params.get("dry_run"))
        upload = request.FILES.get("file")
        if upload is None:
            raise exceptions.ValidationError(
                {"file": [_("Attach the receipts file as the multipart field “file”.")]}
            )
        try:
            content = read_upload(upload)
            job = (
                None
                if dry_run
                else receipts_job_for_upload(
                    agency=self.agency,
                    task=task,
                    actor=request.user,
                    content=content,
                    filename=upload.name or "receipts",
                )
            )
            if job is not None:
                return accepted(request, job)
            answer = receipts_import(
                agency=self.agency,
                task=task,
                actor=request.user,
                content=content,
                filename=upload.name or "receipts",
                dry_run=dry_run,
            )
        except FileRejected as exc:
            body = {
                "done": 0,
                "rows": 0,
                "errors": [{"row": None, "column": None, "field": None, "message": str(exc)}],
                "ignored_columns": [],
                "dry_run": dry_run,
                "applied": False,
                **error_body(400, "file_rejected", str(exc), exc.details),
            }
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        file_level = any(e["row"] is None for e in answer["errors"])
        if (answer["errors"] and not dry_run) or file_level:
            message = (
                answer["errors"][0]["message"]
                if file_level
                else _("%(n)d problems in the file: nothing was marked done.") % {"n": len(answer["errors"])}
            )
            answer.update(error_body(400, "invalid_import", message))
            return Response(answer, status=status.HTTP_400_BAD_REQUEST)
        return Response(answer)


BulkResultSerializer = inline_serializer(
    "TaskBulkResult",
    {
        "action": serializers.CharField(),
        "selected": serializers.IntegerField(),
        "done": serializers.IntegerField(),
        "skipped": inline_serializer(
            "BulkSkipped", {"reason": serializers.CharField(), "count": serializers.IntegerField()}, many=True
        ),
        "rechecked": serializers.IntegerField(help_text="items whose pre-checks run again"),
        "message": serializers.CharField(help_text="“N done, M skipped because …” in the request's language"),
    },
)


class BulkRequestSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=["resolve", "exclude", "move", "upload", "signatures"])
    ids = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        help_text="item ids; leave out to act on every item matching `filter`",
    )
    filter = serializers.DictField(
        required=False,
        help_text="item filters: " + ", ".join(ITEM_FILTERS) + " (empty means any; an unknown name is a 400)",
    )
    code = serializers.CharField(required=False, help_text="resolve: the blocker code")
    note = serializers.CharField(required=False, help_text="resolve: how it was resolved")
    reason = serializers.CharField(required=False, help_text="exclude: why")
    tier = serializers.IntegerField(required=False, help_text="move: the tier id")
    kind = serializers.CharField(required=False, help_text="upload: the document kind")
    file = serializers.FileField(required=False, help_text="upload (and optionally resolve): the document")


class TaskBulkAPIView(AgencyScopedAPIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    required_permissions = {"POST": "tasks.edit"}
    default_permission = "tasks.edit"

    @extend_schema(
        summary="Run one bulk action on a task's items (ticked ids, or every item matching a filter)",
        description="One transaction; the changed rows are locked; one audit event per changed item. The answer "
        "says how many were done and why the others were skipped.",
        request={"application/json": BulkRequestSerializer, "multipart/form-data": BulkRequestSerializer},
        responses={200: BulkResultSerializer, 202: JOB_ACCEPTED},
    )
    def post(self, request, pk):
        task = get_object_or_404(ShutdownTask, pk=pk)
        data = request.data
        action = data.get("action", "")
        spec = bulk.BULK_ACTIONS.get(action)
        if spec is not None and not self.access.can(spec.permission):
            raise exceptions.PermissionDenied()
        ids = data.getlist("ids") if hasattr(data, "getlist") and "ids" in data else data.get("ids")
        filters = data.get("filter") if ids is None else None
        if ids is None and not isinstance(filters, dict):
            raise exceptions.ValidationError(
                {"filter": [_("Give `ids`, or a `filter` object ({} for every item).")]}
            )
        params = {
            k: data.get(k) for k in ("code", "note", "reason", "tier", "kind") if data.get(k) is not None
        }
        result = bulk_run_or_job(
            agency=self.agency,
            task=task,
            actor=request.user,
            action=action,
            ids=ids,
            filters=filters,
            params=params,
            upload=request.FILES.get("file"),
        )
        if isinstance(result, Job):
            return accepted(request, result)
        return Response(result.as_dict())
