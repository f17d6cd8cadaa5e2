from rest_framework import serializers

from accounts.models import User
from agency.api.fields import ScopedPrimaryKeyRelatedField  # noqa: F401 (documented seam)

from ..models import (
    Appeal,
    ApprovalDecision,
    ApprovalLevel,
    ApprovalPolicy,
    ApprovalRound,
    ApprovalStage,
    Delegation,
    SignatureRequest,
)


class CommentSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)


class AppealDecisionSerializer(serializers.Serializer):
    uphold = serializers.BooleanField()
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)


class AgencyMemberField(serializers.PrimaryKeyRelatedField):
    """A user id from a body, accepted only when the user is a member of the request's agency."""

    def get_queryset(self):
        agency = self.context["agency"]
        return User.objects.filter(memberships__agency=agency)


class LevelSerializer(serializers.ModelSerializer):
    members = AgencyMemberField(many=True, required=False, write_only=True)

    class Meta:
        model = ApprovalLevel
        fields = ["position", "name", "role", "members", "mode", "required_count", "sla_hours"]
        read_only_fields = ["position"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["members"] = sorted(link.user_id for link in instance.member_links.all())
        return data


class PolicySerializer(serializers.ModelSerializer):
    levels = LevelSerializer(many=True)

    class Meta:
        model = ApprovalPolicy
        fields = ["id", "name", "strategy", "is_active", "levels", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]


class DecisionSerializer(serializers.ModelSerializer):
    decided_by = serializers.EmailField(source="decided_by.email")
    vote_of = serializers.EmailField(source="vote_of.email")

    class Meta:
        model = ApprovalDecision
        # document_ids: attachments (the task's documents); superseded_at: a send-back voided this vote
        fields = ["id", "decision", "decided_by", "vote_of", "comment", "escalated", "created_at", "document_ids",
                  "superseded_at"]


class StageSerializer(serializers.ModelSerializer):
    decisions = DecisionSerializer(many=True)
    needed = serializers.IntegerField()

    class Meta:
        model = ApprovalStage
        fields = ["position", "name", "role", "mode", "needed", "sla_hours", "state", "approver_ids",
                  "escalated_to_ids", "opened_at", "due_at", "reminded_at", "escalated_at", "completed_at",
                  "carried_over", "added_by", "urged_at", "decisions"]


class AppealSerializer(serializers.ModelSerializer):
    appellant = serializers.EmailField(source="appellant.email")

    class Meta:
        model = Appeal
        fields = ["id", "reason", "state", "appellant", "decided_at", "decision_comment", "created_at"]


class RoundSerializer(serializers.ModelSerializer):
    stages = StageSerializer(many=True)
    appeals = AppealSerializer(many=True)
    submitted_by = serializers.EmailField(source="submitted_by.email", default=None)

    class Meta:
        model = ApprovalRound
        fields = ["number", "state", "policy_name", "content_hash", "submitted_by", "submitted_at", "comment",
                  "closed_at", "stages", "appeals"]


class DelegationSerializer(serializers.ModelSerializer):
    delegator = AgencyMemberField(required=False)
    delegate = AgencyMemberField()

    class Meta:
        model = Delegation
        fields = ["id", "delegator", "delegate", "starts_at", "ends_at", "reason", "created_at", "revoked_at"]
        read_only_fields = ["created_at", "revoked_at"]


class SignatureSerializer(serializers.ModelSerializer):
    account = serializers.CharField(source="item.sub_account.display_name")
    item = serializers.IntegerField(source="item_id")

    class Meta:
        model = SignatureRequest
        fields = ["id", "task", "item", "account", "state", "owner_name", "token_version", "link_expires_at",
                  "link_sent_at", "code_attempts", "completed_at", "decline_reason", "content_sha256", "evidence",
                  "created_at"]


class EventSerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    kind = serializers.CharField()
    kind_label = serializers.CharField(help_text="The kind, as shown to people (in the request's language).")
    actor = serializers.CharField(source="actor_label")
    item = serializers.IntegerField(source="item_id", allow_null=True)
    ip_address = serializers.CharField(allow_null=True)
    user_agent = serializers.CharField()
    data = serializers.JSONField()
    created_at = serializers.DateTimeField()
    prev_hash = serializers.CharField()
    hash = serializers.CharField()
