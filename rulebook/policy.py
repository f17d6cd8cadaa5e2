"""The one place where the numbers of shared/domain.md live.

`DEFAULTS` holds the product defaults; an agency may override any of them in
`Agency.settings["policy"]` (the policy page shows the effective values). Code reads
`policy_for(agency).<name>`, never a literal.
"""

from dataclasses import dataclass, fields, replace
from decimal import Decimal


@dataclass(frozen=True)
class Policy:
    # R1.3 processing times
    enterprise_review_hours: int = 24
    third_party_min_working_days: int = 3
    third_party_max_working_days: int = 5
    # R2 data retention
    drafts_days: int = 30
    interaction_data_days: int = 180
    fan_profile_days: int = 90
    # R3 linked services
    settlement_working_days: int = 7
    ad_payout_threshold_cny: Decimal = Decimal("500")
    topic_transfer_revocable_days: int = 30
    # R5.1 dormant mode
    dormant_login_interval_months: int = 1
    # R7 special cases
    delayed_review_max_days: int = 15
    international_time_factor: Decimal = Decimal("1.5")
    # R8 monitoring
    activity_window_hours: int = 72
    activity_follower_drop_pct: Decimal = Decimal("30")
    api_window_days: int = 14
    commercial_window_days: int = 30
    commercial_max_pending_orders: int = 5
    # R9
    # R9.2: accounts with at least this many followers are proposed a shell transition of
    # `shell_months` before their shutdown, with a follower-migration check-in every interval.
    shell_followers_threshold: int = 10000
    shell_months: int = 3
    shell_checkin_interval_months: int = 1
    reopen_block_days: int = 180
    interaction_export_months: int = 6

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


DEFAULTS = Policy()

RULE_OF_FIELD = {
    "enterprise_review_hours": "R1.3", "third_party_min_working_days": "R1.3", "third_party_max_working_days": "R1.3",
    "drafts_days": "R2.1", "interaction_data_days": "R2.3", "fan_profile_days": "R2.4",
    "settlement_working_days": "R3.1", "ad_payout_threshold_cny": "R3.2", "topic_transfer_revocable_days": "R3.3",
    "dormant_login_interval_months": "R5.1", "delayed_review_max_days": "R7.2", "international_time_factor": "R7.3",
    "activity_window_hours": "R8", "activity_follower_drop_pct": "R8", "api_window_days": "R8",
    "commercial_window_days": "R8", "commercial_max_pending_orders": "R8", "shell_followers_threshold": "R9.2",
    "shell_months": "R9.2", "shell_checkin_interval_months": "R9.2", "reopen_block_days": "R9.3", "interaction_export_months": "R9.1",
}


def policy_for(agency) -> Policy:
    overrides = ((getattr(agency, "settings", None) or {}).get("policy") or {}) if agency is not None else {}
    if not overrides:
        return DEFAULTS
    clean = {}
    for f in fields(Policy):
        if f.name in overrides:
            default = getattr(DEFAULTS, f.name)
            clean[f.name] = type(default)(str(overrides[f.name])) if isinstance(default, Decimal) else type(default)(
                overrides[f.name])
    return replace(DEFAULTS, **clean)


# Reminder defaults (issue 6): days before the due date, 0 = the morning of the due date.
DEFAULT_REMINDER_DAYS_BEFORE: tuple[int, ...] = (7, 1, 0)
DEFAULT_REMINDER_CHANNELS: tuple[str, ...] = ("email", "sms", "inapp")
DEFAULT_REMINDER_ROLES: tuple[str, ...] = ("owner", "admin", "operator")
# The local hour at which reminders are sent ("the morning of").
REMINDER_LOCAL_HOUR = 9
# A deadline due at or before REMINDER_LOCAL_HOUR gets its same-day reminder the evening before,
# at this local hour (outside SMS quiet hours), so that it is never sent after the fact.
REMINDER_EVENING_HOUR = 18
# Deadline kinds that the sub-account owner (the creator) is reminded of by default.
OWNER_REMINDED_KINDS: frozenset[str] = frozenset({
    "drafts_expire", "earnings_settlement", "interaction_data", "fan_profile", "dormant_login",
    "shell_checkin", "shell_transition",  # R9.2: the creator moves the followers during the transition
})
# How far ahead the agency calendar and the ICS feed look by default.
CALENDAR_WEEKS_AHEAD = 6
ICS_DAYS_AHEAD = 400
# Who is alerted by each R8 rule (alerts notify like reminders, on the default channels).
ALERT_RECIPIENT_ROLES: dict[str, tuple[str, ...]] = {
    "follower_drop": ("owner", "admin", "operator"),
    "unauthorised_api": ("owner", "admin", "operator"),
    "pending_orders": ("owner", "admin", "legal"),
}
