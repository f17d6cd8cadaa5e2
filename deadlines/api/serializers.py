from django.utils.translation import gettext as _
from rest_framework import serializers

from deadlines.models import Alert, Deadline, ReminderRule


class DeadlineSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    label = serializers.SerializerMethodField()
    sub_account_name = serializers.CharField(source="sub_account.display_name", read_only=True)

    class Meta:
        model = Deadline
        fields = ["id", "sub_account", "sub_account_name", "task", "item", "kind", "kind_display", "rule", "label",
                  "note", "effective_at", "due_at", "provisional", "working_days", "completed_at", "sequence"]
        read_only_fields = fields

    def get_label(self, obj) -> str:
        return _(obj.label)


class AlertSerializer(serializers.ModelSerializer):
    rule_display = serializers.CharField(source="get_rule_display", read_only=True)
    sub_account_name = serializers.CharField(source="sub_account.display_name", read_only=True)

    class Meta:
        model = Alert
        fields = ["id", "sub_account", "sub_account_name", "rule", "rule_display", "status", "data", "raised_at",
                  "handled_at"]
        read_only_fields = fields


class AlertStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[Alert.Status.ACKNOWLEDGED, Alert.Status.RESOLVED])


class MetricRowSerializer(serializers.Serializer):
    """Documented shape of one metric row (validation happens in the service, all rows at once)."""

    sub_account = serializers.IntegerField(required=False)
    platform = serializers.CharField(required=False)
    platform_account_id = serializers.CharField(required=False)
    metric = serializers.CharField()
    value = serializers.IntegerField()
    measured_at = serializers.DateTimeField()


class MetricsIngestSerializer(serializers.Serializer):
    samples = serializers.ListField(child=serializers.DictField(), allow_empty=False, max_length=20000)


class ReopenRequestSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300)


class ReminderRuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReminderRule
        fields = ["id", "deadline_kind", "days_before", "channels", "recipient_roles", "notify_owner", "is_active"]


class DormantLoginSerializer(serializers.Serializer):
    """R5.1: the monthly login of a dormant account, as an operator records it."""

    logged_in_at = serializers.DateTimeField(
        required=False, help_text="When the login happened (default: now). Without an offset, the agency's time zone.")
    note = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")


class DormantLoginResultSerializer(serializers.Serializer):
    done = DeadlineSerializer(help_text="The deadline just completed.")
    next = DeadlineSerializer(allow_null=True, help_text="The next month's login (null once the account "
                                                        "is no longer dormant).")
