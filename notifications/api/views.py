import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from agency.api.base import AgencyScopedGenericViewSet, AgencyScopedReadOnlyModelViewSet
from agency.filtering import EmptyMeansAnyFilterSet
from notifications.models import OutboundMessage, RobotWebhook
from notifications.robots import robot_webhook_delete, robot_webhook_save
from notifications.services.delivery import message_cancel, message_mark_read, message_retry


class OutboundMessageSerializer(serializers.ModelSerializer):
    """A stored message. One-time secrets (signing links, codes) are sealed on the row and never
    part of this: `summary` says what such a message is, the owner's address is masked."""

    recipient = serializers.SerializerMethodField()
    summary = serializers.SerializerMethodField()

    class Meta:
        model = OutboundMessage
        fields = ["id", "channel", "kind", "summary", "template_code", "params", "language", "recipient",
                  "send_after", "status", "attempts", "last_error", "sent_at", "read_at", "idempotency_key", "ref",
                  "subject", "body"]
        read_only_fields = fields

    def get_recipient(self, obj) -> str:
        return obj.recipient_display

    def get_summary(self, obj) -> str:
        return obj.summary


class OutboxFilter(EmptyMeansAnyFilterSet):
    status = django_filters.CharFilter()
    channel = django_filters.CharFilter()
    kind = django_filters.CharFilter()
    ref = django_filters.CharFilter()


class InboxFilter(EmptyMeansAnyFilterSet):
    unread = django_filters.BooleanFilter(field_name="read_at", lookup_expr="isnull")


class OutboxViewSet(AgencyScopedReadOnlyModelViewSet):
    """Every stored message of the agency (reminders, alerts, approvals, signing links)."""

    serializer_class = OutboundMessageSerializer
    default_permission = "deadlines.view"
    required_permissions = {"retry": "reminders.manage", "cancel": "reminders.manage"}
    filterset_class = OutboxFilter
    ordering_fields = ["send_after", "id"]
    ordering = ["-send_after", "-id"]
    kind_filter = ""

    def get_queryset(self):
        qs = OutboundMessage.objects.filter(agency=self.agency).select_related("recipient_user")
        return qs.filter(kind=self.kind_filter) if self.kind_filter else qs

    @extend_schema(request=None, responses=OutboundMessageSerializer)
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        return Response(self.get_serializer(message_retry(agency=self.agency, message=self.get_object(),
                                                          user=request.user)).data)

    @extend_schema(request=None, responses=OutboundMessageSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return Response(self.get_serializer(message_cancel(agency=self.agency, message=self.get_object(),
                                                           user=request.user)).data)


class ReminderViewSet(OutboxViewSet):
    """The reminders only (kind=reminder)."""

    kind_filter = "reminder"


class InboxViewSet(AgencyScopedReadOnlyModelViewSet):
    """The current user's in-app notifications."""

    serializer_class = OutboundMessageSerializer
    default_permission = "agency.view"
    filterset_class = InboxFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user, introspection only
            return OutboundMessage.objects.none()
        return (OutboundMessage.objects.filter(agency=self.agency, recipient_user=self.request.user, channel="inapp",
                                               status=OutboundMessage.Status.SENT)
                .select_related("recipient_user").order_by("-sent_at", "-id"))

    @extend_schema(request=None, responses={200: dict})
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        message = self.get_object()
        return Response({"marked": message_mark_read(agency=self.agency, message_id=message.pk, user=request.user)})


class RobotWebhookSerializer(serializers.ModelSerializer):
    """A group robot. `url` and `secret` are write-only: answers show `address_hint` (masked)
    and `has_secret`; on a change, leaving them out keeps the stored ones."""

    url = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=500)
    secret = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=200)
    events = serializers.ListField(child=serializers.CharField(max_length=32), max_length=20)
    # Plain text (the service names a wrong value): an enum here would collide with the accounts' platforms.
    platform = serializers.CharField(max_length=12, help_text="dingtalk, wecom or feishu")

    class Meta:
        model = RobotWebhook
        fields = ["id", "name", "platform", "url", "secret", "address_hint", "has_secret", "events", "is_active",
                  "created_at", "updated_at"]
        read_only_fields = ["address_hint", "has_secret", "created_at", "updated_at"]
        validators: list = []  # the service checks the name per agency and says which field is wrong


class RobotWebhookViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                          mixins.UpdateModelMixin, mixins.DestroyModelMixin, AgencyScopedGenericViewSet):
    """The agency's group robots (DingTalk / WeCom / Feishu custom robots)."""

    serializer_class = RobotWebhookSerializer
    default_permission = "agency.settings"
    filter_backends: list = []

    def get_queryset(self):
        return RobotWebhook.objects.order_by("name", "pk")

    def _save(self, serializer, webhook=None):
        data = serializer.validated_data
        serializer.instance = robot_webhook_save(
            agency=self.agency, webhook=webhook, name=data.get("name", getattr(webhook, "name", "")),
            platform=data.get("platform", getattr(webhook, "platform", "")), url=data.get("url", ""),
            secret=data.get("secret", ""), events=data.get("events", getattr(webhook, "events", [])),
            is_active=data.get("is_active", getattr(webhook, "is_active", True)), actor=self.request.user)

    def perform_create(self, serializer):
        self._save(serializer)

    def perform_update(self, serializer):
        self._save(serializer, webhook=serializer.instance)

    def perform_destroy(self, instance):
        robot_webhook_delete(agency=self.agency, webhook=instance)
