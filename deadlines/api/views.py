import django_filters
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from agency.api.base import AgencyScopedAPIView, AgencyScopedGenericViewSet, AgencyScopedReadOnlyModelViewSet
from agency.exceptions import DomainValidationError
from agency.filtering import EmptyMeansAnyFilterSet
from agency.models import SubAccount
from agency.services.imports import read_upload
from deadlines.models import Alert, Deadline, DeadlineKind, ReminderRule
from deadlines.services.deadlines import reopen_request_create
from deadlines.services.dormant import dormant_login_record
from deadlines.services.monitoring import alert_update, metrics_ingest, metrics_parse_csv
from deadlines.services.rules import reminder_rule_delete, reminder_rule_save, reminder_rules_effective
from rulebook.policy import RULE_OF_FIELD, policy_for

from .serializers import (
    AlertSerializer,
    AlertStatusSerializer,
    DeadlineSerializer,
    DormantLoginResultSerializer,
    DormantLoginSerializer,
    MetricsIngestSerializer,
    ReminderRuleSerializer,
    ReopenRequestSerializer,
)


class DeadlineFilter(EmptyMeansAnyFilterSet):
    # Plain filters (no model introspection at import time: the models' managers are scoped).
    kind = django_filters.CharFilter()
    provisional = django_filters.BooleanFilter()
    sub_account = django_filters.NumberFilter(field_name="sub_account_id")
    task = django_filters.NumberFilter(field_name="task_id")
    due_after = django_filters.IsoDateTimeFilter(field_name="due_at", lookup_expr="gte")
    due_before = django_filters.IsoDateTimeFilter(field_name="due_at", lookup_expr="lte")


class AlertFilter(EmptyMeansAnyFilterSet):
    status = django_filters.CharFilter()
    rule = django_filters.CharFilter()
    sub_account = django_filters.NumberFilter(field_name="sub_account_id")


class DeadlineViewSet(AgencyScopedReadOnlyModelViewSet):
    """Stored deadlines; `provisional` marks dates counted on an estimated calendar year."""

    serializer_class = DeadlineSerializer
    default_permission = "deadlines.view"
    required_permissions = {"dormant_login": "subaccounts.edit"}
    filterset_class = DeadlineFilter
    ordering_fields = ["due_at", "kind", "id"]
    ordering = ["due_at", "id"]

    def get_queryset(self):
        return Deadline.objects.filter(agency=self.agency).select_related("sub_account")

    @extend_schema(request=DormantLoginSerializer, responses={201: DormantLoginResultSerializer})
    @action(detail=True, methods=["post"], url_path="dormant-login")
    def dormant_login(self, request, pk=None):
        """R5.1: record the monthly login of a dormant account on its open `dormant_login` deadline:
        it is completed and the next month's deadline is created (409 if already done or missed)."""
        deadline = self.get_object()
        if deadline.kind != DeadlineKind.DORMANT_LOGIN:
            raise NotFound(_("This deadline is not a dormant-account login."))
        body = DormantLoginSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        result = dormant_login_record(agency=self.agency, deadline_id=deadline.pk, user=request.user,
                                      logged_in_at=body.validated_data.get("logged_in_at"),
                                      note=body.validated_data.get("note", ""))
        return Response({"done": DeadlineSerializer(result.done).data,
                         "next": DeadlineSerializer(result.next).data if result.next else None},
                        status=status.HTTP_201_CREATED)


class AlertViewSet(AgencyScopedReadOnlyModelViewSet):
    serializer_class = AlertSerializer
    default_permission = "deadlines.view"
    required_permissions = {"set_status": "monitoring.ingest"}
    filterset_class = AlertFilter
    ordering = ["-raised_at", "-id"]

    def get_queryset(self):
        return Alert.objects.filter(agency=self.agency).select_related("sub_account")

    @extend_schema(request=AlertStatusSerializer, responses=AlertSerializer)
    @action(detail=True, methods=["post"], url_path="status")
    def set_status(self, request, pk=None):
        alert = self.get_object()
        body = AlertStatusSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        alert = alert_update(agency=self.agency, alert=alert, status=body.validated_data["status"], user=request.user)
        return Response(AlertSerializer(alert).data)


class MetricsIngestAPIView(AgencyScopedAPIView):
    """R8 metrics as JSON: {"samples": [{"sub_account": 1, "metric": "followers", "value": 900,
    "measured_at": "2026-03-01T09:00+08:00"}, …]}. All rows are checked before anything is stored."""

    required_permissions = {"POST": "monitoring.ingest"}
    default_permission = "monitoring.ingest"

    @extend_schema(request=MetricsIngestSerializer, responses={201: dict})
    def post(self, request):
        body = MetricsIngestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        result = metrics_ingest(agency=self.agency, rows=body.validated_data["samples"], source="api",
                                user=request.user)
        return Response(result, status=status.HTTP_201_CREATED)


class MetricsUploadAPIView(AgencyScopedAPIView):
    """R8 metrics as a CSV upload (field `file`)."""

    required_permissions = {"POST": "monitoring.ingest"}
    default_permission = "monitoring.ingest"
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": {"type": "object", "properties": {
        "file": {"type": "string", "format": "binary"}}}}, responses={201: dict})
    def post(self, request):
        upload = request.FILES.get("file")
        if upload is None:
            raise DomainValidationError(details={"file": ["Upload a CSV file in the field “file”."]})
        rows = metrics_parse_csv(data=read_upload(upload))
        result = metrics_ingest(agency=self.agency, rows=rows, source="csv", user=request.user)
        return Response(result, status=status.HTTP_201_CREATED)


class ReopenRequestAPIView(AgencyScopedAPIView):
    """Ask to reopen a shut-down account: 409 with `details.possible_from` inside the R9.3 block."""

    required_permissions = {"POST": "subaccounts.edit"}
    default_permission = "subaccounts.edit"

    @extend_schema(request=ReopenRequestSerializer, responses={201: dict})
    def post(self, request, pk):
        account = get_object_or_404(SubAccount, pk=pk)
        body = ReopenRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        entry = reopen_request_create(agency=self.agency, sub_account=account, user=request.user,
                                      reason=body.validated_data.get("reason", ""))
        return Response({"id": entry.pk, "sub_account": account.pk, "requested_at": entry.requested_at},
                        status=status.HTTP_201_CREATED)


class PolicyAPIView(AgencyScopedAPIView):
    """The numbers in effect for this agency, with the rule each comes from."""

    default_permission = "deadlines.view"

    @extend_schema(responses={200: dict})
    def get(self, request):
        values = policy_for(self.agency).as_dict()
        return Response({name: {"value": str(v), "rule": RULE_OF_FIELD.get(name, "")} for name, v in values.items()})


class ReminderRuleViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin,
                          AgencyScopedGenericViewSet):
    serializer_class = ReminderRuleSerializer
    default_permission = "deadlines.view"
    required_permissions = {"create": "reminders.manage", "destroy": "reminders.manage"}
    step_up_for = frozenset({"POST", "PUT", "PATCH", "DELETE"})
    pagination_class = None

    def get_queryset(self):
        return ReminderRule.objects.filter(agency=self.agency)

    def list(self, request, *args, **kwargs):
        return Response(ReminderRuleSerializer(reminder_rules_effective(agency=self.agency), many=True).data)

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = reminder_rule_save(
            agency=self.agency, deadline_kind=data.get("deadline_kind", ""), days_before=data["days_before"],
            channels=data.get("channels") or [], recipient_roles=data.get("recipient_roles") or [],
            notify_owner=data.get("notify_owner", False), is_active=data.get("is_active", True))

    def perform_destroy(self, instance):
        reminder_rule_delete(agency=self.agency, rule=instance)
