"""/api/v1/agencies/<slug>/shutdown-tasks/: tasks, tiers, items, blockers, documents, execution.

Every action calls one service; the services raise Conflict (409) or DomainValidationError
(400), which the error handler turns into the one error shape.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from agency.api.base import AgencyScopedGenericViewSet
from shutdown import selectors
from shutdown.models import Blocker, ShutdownTask, TaskItem, Tier
from shutdown.services import blockers as blocker_services
from shutdown.services import execution, lifecycle, precheck
from shutdown.services import tasks as task_services
from shutdown.services.documents import document_upload
from shutdown.states import TaskState

from . import serializers as s

VIEW, EDIT, EXECUTE = "tasks.view", "tasks.edit", "tasks.execute"
ITEM = r"items/(?P<item_id>\d+)"
TIER = r"tiers/(?P<tier_id>\d+)"
BLOCKER = r"blockers/(?P<blocker_id>\d+)"


class ShutdownTaskViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                          mixins.UpdateModelMixin, AgencyScopedGenericViewSet):
    serializer_class = s.TaskSerializer
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    filter_backends: list = []
    http_method_names = ["get", "post", "patch", "head", "options"]
    lookup_value_regex = r"\d+"
    default_permission = VIEW
    required_permissions = {
        "create": EDIT, "partial_update": EDIT, "update": EDIT, "precheck": EDIT, "tiers_split": EDIT,
        "tier_update": EDIT, "item_update": EDIT, "item_exclude": EDIT, "item_restore": EDIT, "item_move": EDIT,
        "item_recheck": EDIT, "blocker_resolve": EDIT, "blocker_appeal": EDIT, "documents_upload": EDIT,
        "execution_start": EXECUTE, "tier_start": EXECUTE, "tier_close": EXECUTE, "tier_run": EXECUTE,
        "item_done": EXECUTE, "item_failed": EXECUTE, "item_retry": EXECUTE,
    }

    def get_queryset(self):
        return selectors.task_list(params=self.request.query_params)

    # --- helpers --------------------------------------------------------------------------
    def _item(self, task, item_id) -> TaskItem:
        return get_object_or_404(TaskItem.objects.select_related("sub_account", "task", "tier"), task=task, pk=item_id)

    def _tier(self, task, tier_id) -> Tier:
        return get_object_or_404(Tier.objects.select_related("task"), task=task, pk=tier_id)

    def _input(self, serializer_class):
        serializer = serializer_class(data=self.request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def _task_response(self, task, code=status.HTTP_200_OK):
        task = self.get_queryset().get(pk=task.pk)
        return Response(s.TaskSerializer(task).data, status=code)

    def _item_response(self, item):
        item = selectors.task_items(task=item.task).get(pk=item.pk)
        return Response(s.ItemSerializer(item).data)

    # --- task -----------------------------------------------------------------------------
    @extend_schema(request=s.TaskCreateSerializer, responses={201: s.TaskSerializer})
    def create(self, request, *args, **kwargs):
        """Create the task and queue its pre-checks (like the page does)."""
        data = self._input(s.TaskCreateSerializer)
        task = lifecycle.task_create_and_check(
            agency=self.agency, actor=request.user, title=data["title"], reason=data.get("reason", ""),
            strategy=data["strategy"], sub_account_ids=data.get("sub_account_ids"), filter_params=data.get("filter"),
            matrix_target=data.get("matrix_target"), tier_rule=data.get("tier_rule"),
            batch_size=data.get("batch_size"))
        return self._task_response(task, status.HTTP_201_CREATED)

    @extend_schema(request=s.TaskUpdateSerializer, responses=s.TaskSerializer)
    def partial_update(self, request, *args, **kwargs):
        task = self.get_object()
        task = task_services.task_update(agency=self.agency, task=task, actor=request.user,
                                         **self._input(s.TaskUpdateSerializer))
        return self._task_response(task)

    def update(self, request, *args, **kwargs):
        return self.partial_update(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        task = self.get_object()
        data = s.TaskSerializer(task).data
        data["item_counts"] = selectors.task_counts(task=task)
        data["tiers"] = s.TierSerializer(selectors.task_tiers(task=task), many=True).data
        return Response(data)

    @extend_schema(request=None, responses={202: s.TaskSerializer})
    @action(detail=True, methods=["post"])
    def precheck(self, request, pk=None):
        task = precheck.precheck_start(agency=self.agency, task=self.get_object(), actor=request.user)
        return self._task_response(task, status.HTTP_202_ACCEPTED)

    @extend_schema(responses=inline_serializer("TaskProgress", {
        "state": serializers.ChoiceField(choices=TaskState.choices), "done": serializers.IntegerField(),
        "total": serializers.IntegerField()}))
    @action(detail=True, methods=["get"])
    def progress(self, request, pk=None):
        task = self.get_object()
        return Response({"state": task.state, "done": task.progress_done, "total": task.progress_total})

    # --- tiers ----------------------------------------------------------------------------
    @extend_schema(request=s.TierSplitSerializer, responses=s.TierSerializer(many=True))
    @action(detail=True, methods=["post"], url_path="tiers/split")
    def tiers_split(self, request, pk=None):
        data = self._input(s.TierSplitSerializer)
        task_services.tiers_split(agency=self.agency, task=self.get_object(), actor=request.user,
                                  rule=data.get("rule"), batch_size=data.get("batch_size"), tiers=data.get("tiers"))
        return Response(s.TierSerializer(selectors.task_tiers(task=self.get_object()), many=True).data)

    @extend_schema(request=s.TierUpdateSerializer, responses=s.TierSerializer)
    @action(detail=True, methods=["patch"], url_path=TIER)
    def tier_update(self, request, pk=None, tier_id=None):
        tier = self._tier(self.get_object(), tier_id)
        tier = task_services.tier_update(agency=self.agency, tier=tier, actor=request.user,
                                         **self._input(s.TierUpdateSerializer))
        return Response(s.TierSerializer(tier).data)

    def _tier_action(self, service, tier_id):
        tier = self._tier(self.get_object(), tier_id)
        result = service(agency=self.agency, tier=tier, actor=self.request.user)
        tier.refresh_from_db()
        data = s.TierSerializer(tier).data
        if isinstance(result, dict):
            data["result"] = result
        return Response(data)

    @extend_schema(request=None, responses=s.TierSerializer)
    @action(detail=True, methods=["post"], url_path=TIER + "/start")
    def tier_start(self, request, pk=None, tier_id=None):
        return self._tier_action(execution.tier_start, tier_id)

    @extend_schema(request=None, responses=s.TierSerializer)
    @action(detail=True, methods=["post"], url_path=TIER + "/close")
    def tier_close(self, request, pk=None, tier_id=None):
        return self._tier_action(execution.tier_close, tier_id)

    @extend_schema(request=None, responses=s.TierSerializer)
    @action(detail=True, methods=["post"], url_path=TIER + "/run-connector")
    def tier_run(self, request, pk=None, tier_id=None):
        return self._tier_action(execution.tier_run_connector, tier_id)

    # --- items ----------------------------------------------------------------------------
    @extend_schema(responses=s.ItemSerializer(many=True))
    @action(detail=True, methods=["get"])
    def items(self, request, pk=None):
        page = self.paginate_queryset(selectors.task_items(task=self.get_object(), params=request.query_params))
        return self.get_paginated_response(s.ItemSerializer(page, many=True).data)

    @extend_schema(responses=s.ItemSerializer)
    @action(detail=True, methods=["get"], url_path=ITEM)
    def item(self, request, pk=None, item_id=None):
        task = self.get_object()
        item = get_object_or_404(selectors.task_items(task=task), pk=item_id)
        data = s.ItemSerializer(item).data
        data.update(selectors.item_insight(agency=self.agency, item=item))
        data["documents"] = s.DocumentSerializer(item.documents.all(), many=True).data
        return Response(data)

    @extend_schema(request=s.ItemUpdateSerializer, responses=s.ItemSerializer)
    @item.mapping.patch
    def item_update(self, request, pk=None, item_id=None):
        item = self._item(self.get_object(), item_id)
        item = task_services.item_update(agency=self.agency, item=item, actor=request.user,
                                         **self._input(s.ItemUpdateSerializer))
        return self._item_response(item)

    @extend_schema(request=s.ReasonSerializer, responses=s.ItemSerializer)
    @action(detail=True, methods=["post"], url_path=ITEM + "/exclude")
    def item_exclude(self, request, pk=None, item_id=None):
        item = self._item(self.get_object(), item_id)
        item = task_services.item_exclude(agency=self.agency, item=item, actor=request.user,
                                          reason=self._input(s.ReasonSerializer)["reason"])
        return self._item_response(item)

    @extend_schema(request=None, responses=s.ItemSerializer)
    @action(detail=True, methods=["post"], url_path=ITEM + "/restore")
    def item_restore(self, request, pk=None, item_id=None):
        item = task_services.item_restore(agency=self.agency, item=self._item(self.get_object(), item_id),
                                          actor=request.user)
        return self._item_response(item)

    @extend_schema(request=s.MoveSerializer, responses=s.ItemSerializer)
    @action(detail=True, methods=["post"], url_path=ITEM + "/move")
    def item_move(self, request, pk=None, item_id=None):
        item = self._item(self.get_object(), item_id)
        item = task_services.item_move(agency=self.agency, item=item, actor=request.user,
                                       tier=self._input(s.MoveSerializer)["tier"])
        return self._item_response(item)

    @extend_schema(request=None, responses={202: s.TaskSerializer})
    @action(detail=True, methods=["post"], url_path=ITEM + "/recheck")
    def item_recheck(self, request, pk=None, item_id=None):
        task = self.get_object()
        item = self._item(task, item_id)
        task = precheck.precheck_start(agency=self.agency, task=task, actor=request.user, item_ids=[item.pk])
        return self._task_response(task, status.HTTP_202_ACCEPTED)

    @extend_schema(request=s.DoneSerializer, responses=s.ItemSerializer)
    @action(detail=True, methods=["post"], url_path=ITEM + "/done")
    def item_done(self, request, pk=None, item_id=None):
        item = self._item(self.get_object(), item_id)
        data = self._input(s.DoneSerializer)
        item = execution.item_mark_done(agency=self.agency, item=item, actor=request.user,
                                        receipt_number=data["receipt_number"], screenshot=data.get("screenshot"),
                                        effective_at=data.get("effective_at"))
        return self._item_response(item)

    @extend_schema(request=s.ReasonSerializer, responses=s.ItemSerializer)
    @action(detail=True, methods=["post"], url_path=ITEM + "/failed")
    def item_failed(self, request, pk=None, item_id=None):
        item = self._item(self.get_object(), item_id)
        item = execution.item_mark_failed(agency=self.agency, item=item, actor=request.user,
                                          reason=self._input(s.ReasonSerializer)["reason"])
        return self._item_response(item)

    @extend_schema(request=None, responses=s.ItemSerializer)
    @action(detail=True, methods=["post"], url_path=ITEM + "/retry")
    def item_retry(self, request, pk=None, item_id=None):
        item = execution.item_retry(agency=self.agency, item=self._item(self.get_object(), item_id),
                                    actor=request.user)
        return self._item_response(item)

    # --- blockers -------------------------------------------------------------------------
    @extend_schema(responses=s.BlockerSerializer(many=True))
    @action(detail=True, methods=["get"])
    def blockers(self, request, pk=None):
        page = self.paginate_queryset(selectors.task_blockers(task=self.get_object(), params=request.query_params))
        return self.get_paginated_response(s.BlockerSerializer(page, many=True).data)

    def _blocker(self, task, blocker_id) -> Blocker:
        return get_object_or_404(Blocker, task=task, pk=blocker_id)

    @extend_schema(request=s.NoteSerializer, responses=s.BlockerSerializer)
    @action(detail=True, methods=["post"], url_path=BLOCKER + "/resolve")
    def blocker_resolve(self, request, pk=None, blocker_id=None):
        blocker = self._blocker(self.get_object(), blocker_id)
        blocker = blocker_services.blocker_resolve(agency=self.agency, blocker=blocker, actor=request.user,
                                                   note=self._input(s.NoteSerializer)["note"])
        return Response(s.BlockerSerializer(blocker).data)

    @extend_schema(request=s.AppealSerializer, responses=s.BlockerSerializer)
    @action(detail=True, methods=["post"], url_path=BLOCKER + "/appeal")
    def blocker_appeal(self, request, pk=None, blocker_id=None):
        blocker = self._blocker(self.get_object(), blocker_id)
        data = self._input(s.AppealSerializer)
        blocker = blocker_services.blocker_appeal(agency=self.agency, blocker=blocker, actor=request.user,
                                                  note=data["note"], upload=data.get("file"))
        return Response(s.BlockerSerializer(blocker).data)

    # --- documents ------------------------------------------------------------------------
    @extend_schema(responses=s.DocumentSerializer(many=True))
    @action(detail=True, methods=["get"])
    def documents(self, request, pk=None):
        page = self.paginate_queryset(selectors.task_documents(task=self.get_object()))
        return self.get_paginated_response(s.DocumentSerializer(page, many=True).data)

    @extend_schema(request=s.DocumentUploadSerializer, responses={201: s.DocumentSerializer})
    @documents.mapping.post
    def documents_upload(self, request, pk=None):
        task = self.get_object()
        data = self._input(s.DocumentUploadSerializer)
        item = self._item(task, data["item"]) if data.get("item") else None
        document = document_upload(agency=self.agency, task=task, item=item, actor=request.user,
                                   kind=data["kind"], upload=data["file"])
        return Response(s.DocumentSerializer(document).data, status=status.HTTP_201_CREATED)

    # --- execution ------------------------------------------------------------------------
    @extend_schema(request=None, responses=s.TaskSerializer)
    @action(detail=True, methods=["post"], url_path="execution/start")
    def execution_start(self, request, pk=None):
        task = execution.execution_start(agency=self.agency, task=self.get_object(), actor=request.user)
        return self._task_response(task)


__all__ = ["ShutdownTaskViewSet", "ShutdownTask"]
