"""What a shutdown (or downgrade) of one account will set in motion, with dates.

Used before submission (task preview), on the owner's signing page, and by the
deadline creation when an item takes effect, so the three always agree.
"""

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.utils.translation import gettext_lazy as _

from rulebook.policy import policy_for
from rulebook.workdays import working_days_deadline

# R2.4: the 90-day fan data is read in the creator service centre, after a fresh authorised login.
FAN_PROFILE_NOTE = _("Read it in the creator service centre (创作者服务中心); it needs a fresh authorised login.")


@dataclass
class Consequence:
    kind: str
    rule: str
    label: str
    due_at: datetime
    provisional: bool = False
    note: str = ""

    def as_dict(self) -> dict:
        data = asdict(self)
        data["label"] = str(self.label)
        data["note"] = str(self.note)
        return data


def _add_months(moment: datetime, months: int) -> datetime:
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    import calendar

    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


@dataclass(frozen=True)
class ConsequenceFacts:
    """Everything the consequences of one item depend on, and nothing else: items with equal
    facts have equal consequences (the signing content hashes them; callers may cache by them)."""

    strategy: str
    effective_at: datetime
    unwithdrawn_earnings: bool
    pending_ad_revenue: bool
    ad_revenue_paid_out: bool
    hosted_topics: bool
    high_risk: bool
    # when the shutdown was submitted to the platform (its tier opened), once known (R7.2)
    review_started_at: datetime | None = None


def consequence_facts(*, agency, sub_account, strategy: str, effective_at: datetime,
                      review_started_at: datetime | None = None) -> ConsequenceFacts:
    """The one reader of an account's facts for consequences (preview, signing page, hashes)."""
    p = policy_for(agency)
    pending = bool(sub_account.pending_ad_revenue and sub_account.pending_ad_revenue > 0)
    return ConsequenceFacts(
        strategy=strategy, effective_at=effective_at,
        unwithdrawn_earnings=bool(sub_account.unwithdrawn_earnings and sub_account.unwithdrawn_earnings > 0),
        pending_ad_revenue=pending,
        ad_revenue_paid_out=pending and sub_account.pending_ad_revenue >= p.ad_payout_threshold_cny,
        hosted_topics=bool(sub_account.hosted_topics),
        high_risk=bool(sub_account.high_risk),
        review_started_at=review_started_at,
    )


def consequences_preview(*, agency, sub_account, strategy: str, effective_at: datetime,
                         review_started_at: datetime | None = None) -> list[Consequence]:
    """The deadlines an item creates when it takes effect at `effective_at` (aware).

    `review_started_at`: when the shutdown was submitted to the platform (its tier opened);
    the R7.2 delayed review counts from there (from `effective_at` when unknown)."""
    return consequences_for_facts(agency=agency, facts=consequence_facts(
        agency=agency, sub_account=sub_account, strategy=strategy, effective_at=effective_at,
        review_started_at=review_started_at))


def consequences_for_facts(*, agency, facts: ConsequenceFacts) -> list[Consequence]:
    """The consequences of `facts` (from consequence_facts), with dates."""
    p = policy_for(agency)
    tz = agency.tz
    strategy, effective_at = facts.strategy, facts.effective_at
    local = effective_at.astimezone(tz)
    out: list[Consequence] = []
    if strategy == "shutdown":
        out.append(Consequence("drafts_expire", "R2.1", _("Published content kept as drafts until"),
                               local + timedelta(days=p.drafts_days),
                               note=_("Edit or republish before this date; after it the drafts are gone.")))
        if facts.unwithdrawn_earnings:
            due, provisional = working_days_deadline(start=effective_at, days=p.settlement_working_days, tz=tz)
            out.append(Consequence("earnings_settlement", "R3.1", _("Unwithdrawn earnings settled by"), due,
                                   provisional=provisional))
        if facts.pending_ad_revenue:
            paid = facts.ad_revenue_paid_out
            out.append(Consequence(
                "ad_revenue", "R3.2",
                _("Pending ad revenue paid out") if paid else _("Pending ad revenue returned to the advertiser"),
                local, note=_("Paid out only at %(n)s yuan or more.") % {"n": p.ad_payout_threshold_cny}))
        if facts.hosted_topics:
            out.append(Consequence("topic_transfer_revocable", "R3.3", _("Topic-host transfer can be revoked until"),
                                   local + timedelta(days=p.topic_transfer_revocable_days)))
        out.append(Consequence("interaction_data", "R2.3", _("Interaction data (CSV export) available until"),
                               local + timedelta(days=p.interaction_data_days)))
        # R2.4: where the fan profile is read and what it takes.
        out.append(Consequence("fan_profile", "R2.4", _("Fan profile basic data available until"),
                               local + timedelta(days=p.fan_profile_days), note=FAN_PROFILE_NOTE))
        # R9.2: the empty shell is kept *before* the shutdown (the shell transition, which moves
        # the shutdown to its end: shutdown.services.preparation), never after it.
        out.append(Consequence("reopen_blocked", "R9.3", _("The account cannot be reopened before"),
                               local + timedelta(days=p.reopen_block_days)))
        out.append(Consequence("monitor_activity", "R8", _("Activity monitoring window ends"),
                               local + timedelta(hours=p.activity_window_hours)))
        out.append(Consequence("monitor_api", "R8", _("API call monitoring window ends"),
                               local + timedelta(days=p.api_window_days)))
        out.append(Consequence("monitor_commercial", "R8", _("Commercial-cooperation monitoring window ends"),
                               local + timedelta(days=p.commercial_window_days)))
    elif strategy == "dormant":
        out.append(Consequence("dormant_login", "R5.1", _("Next required login of the dormant account"),
                               _add_months(local, p.dormant_login_interval_months)))
    if strategy == "shutdown" and facts.high_risk:
        # R7.2: a full shutdown of a high public-opinion-risk account may be reviewed late,
        # counted from when the review starts (the submission to the platform).
        review_start = (facts.review_started_at or effective_at).astimezone(tz)
        out.append(Consequence("delayed_review", "R7.2", _("Delayed review may last until"),
                               review_start + timedelta(days=p.delayed_review_max_days),
                               note=_("Content clearing starts at the same time.")))
    return sorted(out, key=lambda c: c.due_at)
