"""The approver's inbox across agencies (not under one agency: it checks each membership)."""

from django.db import transaction
from django.utils.translation import gettext as _
from django_scopes import scope
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from agency.exceptions import DomainError

from ..selectors import inbox_for_user
from ..services.common import client_meta
from ..services.decisions import approval_decide


def entry_dict(entry) -> dict:
    return {"agency": entry.agency.slug, "task": entry.task.pk, "title": entry.task.title,
            "strategy": entry.task.strategy, "level": entry.stage.position, "level_name": entry.stage.name,
            "waiting_since": entry.stage.opened_at, "due_at": entry.stage.due_at,
            "on_behalf_of": entry.on_behalf_of, "escalated": entry.escalated}


class InboxAPIView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Everything waiting for my decision, in every agency, oldest first",
                   responses={200: dict})
    def get(self, request):
        entries = inbox_for_user(request.user)
        return Response({"count": len(entries), "results": [entry_dict(e) for e in entries]})


class BulkApproveSerializer(serializers.Serializer):
    items = serializers.ListField(child=serializers.RegexField(r"^[a-z0-9-]+:\d+$"), min_length=1, max_length=200,
                                  help_text="agency-slug:task-id")
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)


def bulk_approve(*, user, keys: list[str], comment: str, meta: dict) -> list[dict]:
    """Approve each selected inbox entry with one comment. Each entry is its own transaction;
    an entry that is no longer mine is reported, not fatal."""
    mine = {f"{e.agency.slug}:{e.task.pk}": e for e in inbox_for_user(user)}
    results = []
    for key in keys:
        entry = mine.get(key)
        if entry is None:
            results.append({"item": key, "ok": False,
                            "message": _("Not waiting for you any more (decided, withdrawn or not yours).")})
            continue
        with scope(agency=entry.agency):
            try:
                with transaction.atomic():
                    approval_decide(agency=entry.agency, task=entry.task, actor=user, decision="approve",
                                    comment=comment, **meta)
                results.append({"item": key, "ok": True, "message": ""})
            except DomainError as exc:
                results.append({"item": key, "ok": False, "message": str(exc.message)})
    return results


class InboxBulkApproveAPIView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=BulkApproveSerializer, responses={200: dict})
    def post(self, request):
        body = BulkApproveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        results = bulk_approve(user=request.user, keys=body.validated_data["items"],
                               comment=body.validated_data["comment"], meta=client_meta(request))
        return Response({"approved": sum(r["ok"] for r in results), "results": results})
