"""The approver's inbox across agencies (not under one agency: it checks each membership)."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from agency.api.base import api_token_of
from agency.security import step_up_api_check_any_agency

from ..selectors import inbox_with_summaries
from ..services.common import client_meta
from ..services.inbox import approvals_bulk_approve


def entry_dict(entry) -> dict:
    s = entry.summary
    summary = None if s is None else {
        "accounts": s.accounts, "followers": s.followers, "unsettled_earnings": str(s.earnings),
        "pending_ad_revenue": str(s.ad_revenue), "open_blockers": s.blockers,
        "earliest_deadline": s.earliest_deadline, "earliest_deadline_label": s.earliest_deadline_label}
    return {"agency": entry.agency.slug, "task": entry.task.pk, "title": entry.task.title,
            "strategy": entry.task.strategy, "level": entry.stage.position, "level_name": entry.stage.name,
            "waiting_since": entry.stage.opened_at, "due_at": entry.stage.due_at,
            "on_behalf_of": entry.on_behalf_of, "escalated": entry.escalated, "summary": summary}


class InboxAPIView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Everything waiting for my decision, in every agency, oldest first",
                   responses={200: dict})
    def get(self, request):
        entries = inbox_with_summaries(request.user)
        token = api_token_of(request)
        if token is not None:  # a token reaches its own agency only
            entries = [e for e in entries if e.agency.pk == token.agency_id]
        return Response({"count": len(entries), "results": [entry_dict(e) for e in entries]})


class BulkApproveSerializer(serializers.Serializer):
    items = serializers.ListField(child=serializers.RegexField(r"^[a-z0-9-]+:\d+$"), min_length=1, max_length=200,
                                  help_text="agency-slug:task-id")
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)


class InboxBulkApproveAPIView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=BulkApproveSerializer, responses={200: dict})
    def post(self, request):
        body = BulkApproveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        step_up_api_check_any_agency(request)  # approving needs a recent second factor
        keys = body.validated_data["items"]
        token = api_token_of(request)
        if token is not None:
            if token.read_only:
                raise exceptions.PermissionDenied(_("This API token is read-only."))
            keys = [k for k in keys if k.split(":", 1)[0] == token.agency.slug]
        results = approvals_bulk_approve(actor=request.user, keys=keys,
                                         comment=body.validated_data["comment"], meta=client_meta(request))
        return Response({"approved": sum(r["ok"] for r in results), "results": results})
