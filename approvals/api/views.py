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
from ..services import actions as acts
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
    """JSON or multipart: `comment`, optional `stage` (the level the client saw: another level open
    now is a 409) and, in multipart, `attachments` (PDF, JPEG, PNG)."""

    required_permissions = {"POST": "approvals.decide"}
    step_up_for = frozenset({"POST"})
    decision = "approve"

    def perform(self, *, task, comment, meta):
        svc.approval_decide(agency=self.agency, task=task, actor=self.request.user, decision=self.decision,
                            comment=comment, stage_id=_stage_of(self.request),
                            attachments=self.request.FILES.getlist("attachments"), **meta)


class TaskRejectAPIView(TaskApproveAPIView):
    decision = "reject"


def _stage_of(request):
    raw = request.data.get("stage")
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except (TypeError, ValueError) as exc:
        raise serializers.ValidationError({"stage": [_("A level id (a number).")]}) from exc


class ApprovalActionSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)
    stage = serializers.IntegerField(required=False, allow_null=True, default=None,
                                     help_text="the open level the client saw (409 when another one is open)")
    user = serializers.IntegerField(required=False, help_text="add-approver, hand-over: the member")
    where = serializers.ChoiceField(choices=["before", "after"], required=False, help_text="add-approver")
    users = serializers.ListField(child=serializers.IntegerField(), required=False, max_length=100,
                                  help_text="copy: the members")


class _ApprovalActionAPIView(AgencyScopedAPIView, metaclass=ABCMeta):
    """POST: one approval action; 200 with the task's approval state, 409 when not allowed now
    (stale level, too soon, nobody eligible), 400 with the field at fault, 403 when never."""

    @abstractmethod
    def perform(self, *, task, data, meta) -> dict: ...

    @extend_schema(request=ApprovalActionSerializer, responses={200: dict})
    def post(self, request, pk):
        task = _task(pk)
        body = ApprovalActionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        result = self.perform(task=task, data=body.validated_data, meta=client_meta(request)) or {}
        task.refresh_from_db()
        return Response({"id": task.pk, "state": task.state, **result,
                         "rounds": RoundSerializer(task_rounds(task=task)[:1], many=True).data})


class TaskAddApproverAPIView(_ApprovalActionAPIView):
    required_permissions = {"POST": "approvals.decide"}

    def perform(self, *, task, data, meta):
        stage = acts.approval_add_approver(agency=self.agency, task=task, actor=self.request.user,
                                           user=data.get("user"), where=data.get("where", ""),
                                           comment=data["comment"], stage_id=data["stage"], **meta)
        return {"added_level": stage.position}


class TaskHandOverAPIView(_ApprovalActionAPIView):
    required_permissions = {"POST": "approvals.decide"}

    def perform(self, *, task, data, meta):
        acts.approval_hand_over(agency=self.agency, task=task, actor=self.request.user, user=data.get("user"),
                                comment=data["comment"], stage_id=data["stage"], **meta)


class TaskSendBackAPIView(_ApprovalActionAPIView):
    required_permissions = {"POST": "approvals.decide"}

    def perform(self, *, task, data, meta):
        stage = acts.approval_send_back(agency=self.agency, task=task, actor=self.request.user,
                                        comment=data["comment"], stage_id=data["stage"], **meta)
        return {"open_level": stage.position}


class TaskCopyAPIView(_ApprovalActionAPIView):
    required_permissions = {"POST": "tasks.view"}

    def perform(self, *, task, data, meta):
        if not (self.access.can("approvals.decide") or self.access.can("tasks.submit")):
            from rest_framework.exceptions import PermissionDenied

            raise PermissionDenied(_("Only approvers and operators can copy members."))
        copied = acts.approval_copy(agency=self.agency, task=task, actor=self.request.user,
                                    users=data.get("users") or [], comment=data["comment"], **meta)
        return {"copied": copied}


class TaskUrgeAPIView(_ApprovalActionAPIView):
    required_permissions = {"POST": "tasks.submit"}

    def perform(self, *, task, data, meta):
        reminded = acts.approval_urge(agency=self.agency, task=task, actor=self.request.user,
                                      comment=data["comment"], stage_id=data["stage"], **meta)
        return {"reminded": len(reminded)}


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

