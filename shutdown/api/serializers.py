from rest_framework import serializers

from agency.api.fields import ScopedPrimaryKeyRelatedField
from agency.models import SubAccount
from shutdown import rules
from shutdown.models import Blocker, DocumentKind, ShutdownTask, Strategy, TaskDocument, TaskItem, Tier

MAX_IDS = 50000


class TierSerializer(serializers.ModelSerializer):
    n_items = serializers.IntegerField(read_only=True, default=None)
    n_done = serializers.IntegerField(read_only=True, default=None)
    n_failed = serializers.IntegerField(read_only=True, default=None)

    class Meta:
        model = Tier
        fields = ["id", "position", "name", "planned_start", "state", "n_items", "n_done", "n_failed"]


class TaskSerializer(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField()
    counts = serializers.SerializerMethodField()

    class Meta:
        model = ShutdownTask
        fields = ["id", "title", "reason", "strategy", "matrix_target", "state", "progress", "counts", "checked_at",
                  "created_at", "updated_at"]

    def get_progress(self, obj) -> dict:
        return {"done": obj.progress_done, "total": obj.progress_total}

    def get_counts(self, obj) -> dict:
        return {"items": getattr(obj, "n_items", None), "blocked": getattr(obj, "n_blocked", None),
                "done": getattr(obj, "n_done", None)}


class TaskCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    reason = serializers.CharField(required=False, allow_blank=True, default="")
    strategy = serializers.ChoiceField(choices=Strategy.choices, default=Strategy.SHUTDOWN)
    # A list of ids is checked in one query by the service (never one lookup per id): ids
    # from another agency are reported as not existing.
    sub_account_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False,
                                            max_length=MAX_IDS)
    filter = serializers.DictField(required=False, help_text="The sub-account list's filter parameters.")
    matrix_target = ScopedPrimaryKeyRelatedField(model=SubAccount, required=False, allow_null=True)
    tier_rule = serializers.ChoiceField(choices=rules.SPLIT_RULE_CHOICES, required=False, allow_null=True)
    batch_size = serializers.IntegerField(required=False, min_value=1)

    def validate(self, attrs):
        if not attrs.get("sub_account_ids") and "filter" not in attrs:
            raise serializers.ValidationError({"sub_account_ids": ["Give sub_account_ids or a filter."]})
        return attrs


class TaskUpdateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False)
    reason = serializers.CharField(required=False, allow_blank=True)
    strategy = serializers.ChoiceField(choices=Strategy.choices, required=False)
    matrix_target = ScopedPrimaryKeyRelatedField(model=SubAccount, required=False, allow_null=True)


class BlockerSerializer(serializers.ModelSerializer):
    check = serializers.CharField(source="check_type", read_only=True)
    reason = serializers.SerializerMethodField()
    appeal_channel = serializers.SerializerMethodField()
    sub_account = serializers.IntegerField(source="item.sub_account_id", read_only=True)

    class Meta:
        model = Blocker
        fields = ["id", "item", "sub_account", "check", "rule", "code", "reason", "appeal_channel", "state",
                  "resolution_note", "resolved_at", "appeal_note", "appeal_document", "appealed_at"]

    def get_reason(self, obj) -> str:
        return rules.blocker_reason(obj.code)

    def get_appeal_channel(self, obj) -> str:
        return rules.blocker_channel(obj.code)


class SubAccountBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = SubAccount
        fields = ["id", "display_name", "platform", "kind", "region", "followers", "high_risk", "status"]


class ItemSerializer(serializers.ModelSerializer):
    sub_account = SubAccountBriefSerializer(read_only=True)
    blockers = serializers.SerializerMethodField()

    class Meta:
        model = TaskItem
        fields = ["id", "sub_account", "tier", "state", "expected_effective_at", "expected_effective_latest_at",
                  "expected_is_provisional", "topic_transfer_target", "receipt_number", "effective_at",
                  "failure_reason", "note", "blockers"]

    def get_blockers(self, obj) -> list:
        return BlockerSerializer([b for b in obj.blockers.all() if b.is_blocking], many=True).data


class ItemUpdateSerializer(serializers.Serializer):
    topic_transfer_target = serializers.CharField(max_length=200, required=False, allow_blank=True)
    note = serializers.CharField(required=False, allow_blank=True)


class DocumentSerializer(serializers.ModelSerializer):
    class Meta:
        model = TaskDocument
        fields = ["id", "item", "kind", "original_name", "content_type", "size", "sha256", "uploaded_at"]


class DocumentUploadSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=DocumentKind.choices)
    item = serializers.IntegerField(required=False, allow_null=True)
    file = serializers.FileField()


class TierPlanSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    planned_start = serializers.DateTimeField(required=False, allow_null=True)
    item_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), max_length=MAX_IDS)


class TierSplitSerializer(serializers.Serializer):
    rule = serializers.ChoiceField(choices=rules.SPLIT_RULE_CHOICES, required=False)
    batch_size = serializers.IntegerField(required=False, min_value=1)
    tiers = TierPlanSerializer(many=True, required=False)

    def validate(self, attrs):
        if not attrs.get("rule") and not attrs.get("tiers"):
            raise serializers.ValidationError({"rule": ["Give a rule or the tiers."]})
        return attrs


class TierUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    planned_start = serializers.DateTimeField(required=False)


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField()


class AppealSerializer(serializers.Serializer):
    note = serializers.CharField()
    file = serializers.FileField(required=False)


class MoveSerializer(serializers.Serializer):
    tier = ScopedPrimaryKeyRelatedField(model=Tier)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class DoneSerializer(serializers.Serializer):
    receipt_number = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    screenshot = serializers.FileField(required=False)
    effective_at = serializers.DateTimeField(required=False)
