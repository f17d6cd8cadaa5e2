"""Agency-scoped approval API: task actions, policies, delegations, signatures, audit."""

from abc import ABCMeta, abstractmethod

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from agency.api.base import AgencyScopedAPIView, AgencyScopedGenericAPIView, AgencyScopedGenericViewSet
from agency.exceptions import Conflict
from shutdown.events import chain_verify
from shutdown.models import ShutdownTask
from shutdown.services import lifecycle

from ..audit import audit_export, audit_export_filename
from ..models import Appeal, ApprovalLevel, ApprovalPolicy, SignatureRequest
from ..selectors import delegations_list, task_events, task_rounds
from ..services import decisions as svc
from ..services.common import client_meta
from ..services.delegations import delegation_create, delegation_revoke
from ..services.policy import approval_policy_delete, approval_policy_save
from ..services.signatures import signature_resend, signature_revoke
from .serializers import (
    AppealDecisionSerializer,
    CommentSerializer,
    DelegationSerializer,
    EventSerializer,
    PolicySerializer,
    RoundSerializer,
    SignatureSerializer,
)


def _task(pk) -> ShutdownTask:
    return get_object_or_404(ShutdownTask.objects.all(), pk=pk)


class _TaskActionAPIView(AgencyScopedAPIView, metaclass=ABCMeta):
    """POST {"comment": ...}: 200 with the task state; 409 when not allowed now; 403 when never."""

    serializer_class = CommentSerializer

    @abstractmethod
    def perform(self, *, task, comment, meta): ...

    @extend_schema(request=CommentSerializer, responses={200: dict})
    def post(self, request, pk):
        task = _task(pk)
        body = CommentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        self.perform(task=task, comment=body.validated_data["comment"], meta=client_meta(request))
        task.refresh_from_db()
        return Response({"id": task.pk, "state": task.state, "content_hash": task.content_hash})


class TaskSubmitAPIView(_TaskActionAPIView):
    required_permissions = {"POST": "tasks.submit"}

    def perform(self, *, task, comment, meta):
        svc.task_submit(agency=self.agency, task=task, actor=self.request.user, comment=comment, **meta)


class TaskApproveAPIView(_TaskActionAPIView):
    required_permissions = {"POST": "approvals.decide"}
    step_up_for = frozenset({"POST"})

    def perform(self, *, task, comment, meta):
        svc.approval_decide(agency=self.agency, task=task, actor=self.request.user, decision="approve",
                            comment=comment, **meta)


class TaskRejectAPIView(_TaskActionAPIView):
    required_permissions = {"POST": "approvals.decide"}
    step_up_for = frozenset({"POST"})

    def perform(self, *, task, comment, meta):
        svc.approval_decide(agency=self.agency, task=task, actor=self.request.user, decision="reject",
                            comment=comment, **meta)


class TaskWithdrawAPIView(_TaskActionAPIView):
    required_permissions = {"POST": "tasks.submit"}

    def perform(self, *, task, comment, meta):
        svc.task_withdraw(agency=self.agency, task=task, actor=self.request.user, comment=comment, **meta)


class TaskCancelAPIView(_TaskActionAPIView):
    required_permissions = {"POST": "tasks.cancel"}

    def perform(self, *, task, comment, meta):
        lifecycle.task_cancel(agency=self.agency, task=task, actor=self.request.user, comment=comment, **meta)


class TaskAppealAPIView(_TaskActionAPIView):
    required_permissions = {"POST": "tasks.submit"}

    def perform(self, *, task, comment, meta):
        svc.appeal_file(agency=self.agency, task=task, actor=self.request.user, reason=comment)


class AppealDecideAPIView(AgencyScopedAPIView):
    required_permissions = {"POST": "approvals.policy"}

    @extend_schema(request=AppealDecisionSerializer, responses={200: dict})
    def post(self, request, pk):
        appeal = get_object_or_404(Appeal.objects.all(), pk=pk)
        body = AppealDecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        appeal = svc.appeal_decide(agency=self.agency, appeal=appeal, actor=request.user,
                                   uphold=body.validated_data["uphold"], comment=body.validated_data["comment"])
        return Response({"id": appeal.pk, "state": appeal.state})


class TaskApprovalStatusAPIView(AgencyScopedAPIView):
    required_permissions = {"GET": "tasks.view"}

    @extend_schema(responses=inline_serializer("TaskApprovalStatus", {
        "task": serializers.IntegerField(), "state": serializers.CharField(),
        "rounds": RoundSerializer(many=True)}))
    def get(self, request, pk):
        task = _task(pk)
        return Response({"task": task.pk, "state": task.state,
                         "rounds": RoundSerializer(task_rounds(task=task), many=True).data})


class PolicyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                    mixins.UpdateModelMixin, mixins.DestroyModelMixin, AgencyScopedGenericViewSet):
    serializer_class = PolicySerializer
    default_permission = "approvals.policy"
    required_permissions = {"list": "tasks.view", "retrieve": "tasks.view"}
    step_up_for = frozenset({"POST", "PUT", "PATCH", "DELETE"})
    filter_backends: list = []

    def get_queryset(self):
        return ApprovalPolicy.objects.prefetch_related(
            Prefetch("levels", queryset=ApprovalLevel.objects.order_by("position").prefetch_related("member_links"))
        ).order_by("strategy", "name")

    def _save(self, serializer, policy=None):
        data = serializer.validated_data
        instance = policy or serializer.instance
        policy = approval_policy_save(
            agency=self.agency, policy=instance, name=data.get("name", getattr(instance, "name", "")),
            strategy=data.get("strategy", getattr(instance, "strategy", "")),
            is_active=data.get("is_active", getattr(instance, "is_active", True)), levels=data.get("levels", []))
        serializer.instance = self.get_queryset().get(pk=policy.pk)

    def perform_create(self, serializer):
        self._save(serializer)

    def perform_update(self, serializer):
        self._save(serializer)

    def perform_destroy(self, instance):
        approval_policy_delete(agency=self.agency, policy=instance)


class DelegationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                        mixins.DestroyModelMixin, AgencyScopedGenericViewSet):
    """Delegations; DELETE revokes (the row stays for the record)."""

    serializer_class = DelegationSerializer
    default_permission = "approvals.decide"
    required_permissions = {"list": "tasks.view", "retrieve": "tasks.view"}
    filter_backends: list = []

    def get_queryset(self):
        return delegations_list(state=self.request.query_params.get("state", ""))

    def perform_create(self, serializer):
        data = serializer.validated_data
        delegator = data.get("delegator") or self.request.user
        if delegator.pk != self.request.user.pk and not self.access.can("approvals.policy"):
            raise Conflict(_("Only an owner or administrator can delegate for somebody else."), code="not_allowed")
        serializer.instance = delegation_create(
            agency=self.agency, delegator=delegator, delegate=data["delegate"], starts_at=data["starts_at"],
            ends_at=data["ends_at"], reason=data.get("reason", ""), actor=self.request.user)

    def destroy(self, request, *args, **kwargs):
        delegation = delegation_revoke(agency=self.agency, delegation=self.get_object(), actor=request.user)
        return Response(DelegationSerializer(delegation, context=self.get_serializer_context()).data)


class SignatureViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, AgencyScopedGenericViewSet):
    serializer_class = SignatureSerializer
    default_permission = "tasks.view"
    required_permissions = {"resend": "signatures.manage", "revoke": "signatures.manage"}
    filter_backends: list = []

    def get_queryset(self):
        qs = SignatureRequest.objects.select_related("item__sub_account").order_by("task_id", "id")
        params = self.request.query_params
        if params.get("task"):
            qs = qs.filter(task_id=params["task"]) if params["task"].isdigit() else qs.none()
        if params.get("state"):
            qs = qs.filter(state=params["state"])
        return qs

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def resend(self, request, pk=None):
        req = signature_resend(agency=self.agency, signature=self.get_object(), actor=request.user)
        return Response(SignatureSerializer(req).data)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        req = signature_revoke(agency=self.agency, signature=self.get_object(), actor=request.user)
        return Response(SignatureSerializer(req).data)


class TaskAuditEventsAPIView(AgencyScopedGenericAPIView):
    serializer_class = EventSerializer
    default_permission = "audit.view"
    filter_backends: list = []

    @extend_schema(responses=EventSerializer(many=True), parameters=[
        OpenApiParameter("kind", str, description="only events of this kind")])
    def get(self, request, pk):
        task = _task(pk)
        page = self.paginate_queryset(task_events(task=task, kind=request.query_params.get("kind", "")))
        return self.get_paginated_response(EventSerializer(page, many=True).data)


class TaskAuditVerifyAPIView(AgencyScopedAPIView):
    default_permission = "audit.view"

    @extend_schema(responses={200: dict})
    def get(self, request, pk):
        return Response(chain_verify(task=_task(pk)))


class TaskAuditExportAPIView(AgencyScopedAPIView):
    default_permission = "audit.export"

    @extend_schema(responses={200: dict})
    def get(self, request, pk):
        task = _task(pk)
        response = Response(audit_export(agency=self.agency, task=task), status=status.HTTP_200_OK)
        response["Content-Disposition"] = f'attachment; filename="{audit_export_filename(task=task)}"'
        return response

