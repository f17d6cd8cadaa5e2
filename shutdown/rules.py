"""Every rule of shared/domain.md that the shutdown tasks apply, in one module.

Pure functions over a sub-account (and the agency's policy): the pre-check blockers (R4,
R1.3, R7.3, R7.4, R3.3), the documents each account needs, the per-item checklist (R9.1,
R1.1–R1.2, R3, R6, R9.2 …), the recommendation between a full shutdown and the R5
alternatives (R9.4), the expected effective dates (R1.3, R7.2, R7.3) and the platform
order of tiers (R6). Every output carries the rule id it comes from. Numbers come from
`rulebook.policy.policy_for(agency)`, never from literals here.
"""

import math
import re
from collections import namedtuple
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from agency.models import AccountKind, OwnerRelation, Platform, Region

from .models import CheckKind, DocumentKind, Strategy

# --- Pre-checks -----------------------------------------------------------------------------

# code -> (check, rule, plain reason, appeal channel). Reasons and channels are lazy so that
# they are rendered in the reader's language.
BLOCKERS: dict[str, tuple[str, str, object, object]] = {
    "compliance.infringement_complaint": (
        CheckKind.COMPLIANCE, "R4", gettext_lazy("An infringement complaint against the account is still open."),
        gettext_lazy("Customer-service ticket → content appeal"),
    ),
    "permissions.mcn_contract_active": (
        CheckKind.PERMISSIONS, "R4", gettext_lazy("The MCN contract has not ended yet."),
        gettext_lazy("Agency back office → contract termination"),
    ),
    "permissions.pending_orders": (
        CheckKind.PERMISSIONS, "R4", gettext_lazy("Commercial orders are still pending."),
        gettext_lazy("Agency back office → contract termination"),
    ),
    "technical.mini_programs": (
        CheckKind.TECHNICAL, "R4", gettext_lazy("A bound mini-program has not been deregistered."),
        gettext_lazy("Open platform → application management"),
    ),
    "technical.third_party_authorisations": (
        CheckKind.TECHNICAL, "R9.1", gettext_lazy("Third-party authorisations are still bound."),
        gettext_lazy("Open platform → application management (安全中心-应用授权管理)"),
    ),
    "technical.api_anomaly": (
        CheckKind.TECHNICAL, "R4", gettext_lazy("Third-party interface calls show an anomaly."),
        gettext_lazy("Open platform → application management"),
    ),
    f"documents.{DocumentKind.LEGAL_REP_AUTHORISATION}": (
        CheckKind.DOCUMENTS, "R1.3",
        gettext_lazy("Enterprise account: the legal representative's authorisation letter is missing."),
        gettext_lazy("Upload the scanned letter on this task"),
    ),
    f"documents.{DocumentKind.GDPR_DECLARATION}": (
        CheckKind.DOCUMENTS, "R7.3", gettext_lazy("International account: the GDPR compliance declaration is missing."),
        gettext_lazy("Upload the declaration on this task"),
    ),
    f"documents.{DocumentKind.INHERITANCE_CERTIFICATE}": (
        CheckKind.DOCUMENTS, "R7.4", gettext_lazy("Inheritance: the notarised inheritance certificate is missing."),
        gettext_lazy("Dedicated inheritance channel; upload the certificate on this task"),
    ),
    # R1.3: a third-party authorised account is unbound on the original platform first; an operator
    # clears this by confirming the unbinding with evidence (shutdown.services.preparation).
    f"documents.{DocumentKind.UNBINDING_EVIDENCE}": (
        CheckKind.DOCUMENTS, "R1.3",
        gettext_lazy("Third-party authorised account: the unbinding on the original platform "
                     "(安全中心-应用授权管理) is not confirmed yet."),
        gettext_lazy("Unbind on the original platform, then confirm the unbinding with evidence on the item"),
    ),
    "handover.topic_target": (
        CheckKind.HANDOVER, "R3.3", gettext_lazy("Hosted topics: name the account that takes over the topic-host roles."),
        gettext_lazy("Name the target account on the item"),
    ),
}


# The sub-account fields the pre-check and the expected dates read (precheck_codes,
# required_documents, expected_effective, estimate_group_key): the pre-check loads only these.
PRECHECK_FIELDS = ("kind", "region", "owner_relation", "high_risk", "open_infringement_complaints",
                   "mcn_contract_end", "pending_orders", "bound_mini_programs", "third_party_authorisations",
                   "api_anomaly", "hosted_topics")
AccountFacts = namedtuple("AccountFacts", PRECHECK_FIELDS)


def blocker_reason(code: str) -> str:
    return str(BLOCKERS[code][2]) if code in BLOCKERS else code


def blocker_channel(code: str) -> str:
    return str(BLOCKERS[code][3]) if code in BLOCKERS else ""


def required_documents(sub_account, strategy: str = Strategy.SHUTDOWN) -> list[tuple[str, str]]:
    """(document kind, rule) the account's kind, region and owner relation require (the R1.3
    unbinding concerns a full shutdown only)."""
    out = []
    if sub_account.kind == AccountKind.ENTERPRISE:
        out.append((DocumentKind.LEGAL_REP_AUTHORISATION, "R1.3"))
    if sub_account.region == Region.INTERNATIONAL:
        out.append((DocumentKind.GDPR_DECLARATION, "R7.3"))
    if sub_account.owner_relation == OwnerRelation.HEIR:
        out.append((DocumentKind.INHERITANCE_CERTIFICATE, "R7.4"))
    if sub_account.kind == AccountKind.THIRD_PARTY and strategy == Strategy.SHUTDOWN:
        out.append((DocumentKind.UNBINDING_EVIDENCE, "R1.3"))
    return out


def precheck_codes(*, sub_account, strategy: str, topic_transfer_target: str, documents: set[str],
                   today: date) -> list[str]:
    """The blocker codes that apply to one item now. `documents`: kinds uploaded for it."""
    codes = []
    a = sub_account
    if strategy == Strategy.SHUTDOWN:
        if a.open_infringement_complaints:
            codes.append("compliance.infringement_complaint")
        # R4: a contract that ends today has not expired yet; it blocks until the day after.
        if a.mcn_contract_end and a.mcn_contract_end >= today:
            codes.append("permissions.mcn_contract_active")
        if a.pending_orders:
            codes.append("permissions.pending_orders")
        if a.bound_mini_programs:
            codes.append("technical.mini_programs")
        if a.third_party_authorisations:
            codes.append("technical.third_party_authorisations")
        if a.api_anomaly:
            codes.append("technical.api_anomaly")
    for kind, _rule in required_documents(a, strategy):
        if kind not in documents:
            codes.append(f"documents.{kind}")
    if strategy in (Strategy.SHUTDOWN, Strategy.MATRIX) and a.hosted_topics and not topic_transfer_target.strip():
        codes.append("handover.topic_target")
    return codes


# --- Expected effective dates (R1.3, R7.2, R7.3) -------------------------------------------


@dataclass
class Estimate:
    earliest: datetime
    latest: datetime
    provisional: bool = False
    rules: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    start: datetime | None = None  # what the estimate counted from


def _shift_working_days(start: datetime, days: int, tz) -> tuple[datetime, bool]:
    from rulebook.workdays import add_working_days

    local = start.astimezone(tz)
    day, provisional = add_working_days(start=local.date(), days=days)
    return datetime.combine(day, local.timetz()), provisional


def expected_effective(*, sub_account, policy, start: datetime, tz, strategy: str = "shutdown") -> Estimate:
    """When the shutdown (or downgrade: `strategy`) should take effect if submitted to the
    platform at `start`."""
    factor = policy.international_time_factor if sub_account.region == Region.INTERNATIONAL else Decimal(1)
    rules = ["R1.3"]
    notes = []
    provisional = False
    if sub_account.kind == AccountKind.ENTERPRISE:
        hours = math.ceil(Decimal(policy.enterprise_review_hours) * factor)
        earliest, latest = start, start + timedelta(hours=hours)
        notes.append(_("Enterprise: reviewed within %(h)s hours.") % {"h": hours})
    elif sub_account.kind == AccountKind.THIRD_PARTY:
        low = math.ceil(Decimal(policy.third_party_min_working_days) * factor)
        high = math.ceil(Decimal(policy.third_party_max_working_days) * factor)
        earliest, p1 = _shift_working_days(start, low, tz)
        latest, p2 = _shift_working_days(start, high, tz)
        provisional = p1 or p2
        notes.append(_("Third-party authorised: %(low)s–%(high)s working days after unbinding.")
                     % {"low": low, "high": high})
    else:
        earliest = latest = start
        notes.append(_("Personal: effective at once."))
    if factor != 1:
        rules.append("R7.3")
        notes.append(_("International: processing takes %(pct)s %% longer.")
                     % {"pct": int((factor - 1) * 100)})
    if strategy == "shutdown" and sub_account.high_risk:  # R7.2 concerns full shutdowns only
        rules.append("R7.2")
        latest = latest + timedelta(days=policy.delayed_review_max_days)
        notes.append(_("High public-opinion risk: a delayed review may add up to %(d)s days; content clearing "
                       "starts at the same time.") % {"d": policy.delayed_review_max_days})
    return Estimate(earliest=earliest, latest=latest, provisional=provisional, rules=rules, notes=notes, start=start)


def estimate_group_key(sub_account) -> tuple:
    """Accounts with the same key have the same estimate (used to update items in bulk)."""
    return (sub_account.kind, sub_account.region, sub_account.high_risk)


# --- Recommendation (R9.4) -------------------------------------------------------------------


@dataclass
class Recommendation:
    strategy: str
    reasons: list[dict]
    # R9.2: for a large audience, a shell transition before the shutdown is proposed.
    shell_transition: bool = False
    shell_months: int = 0

    @property
    def label(self) -> str:
        return str(Strategy(self.strategy).label)

    def as_dict(self) -> dict:
        return {"strategy": self.strategy, "label": self.label, "reasons": self.reasons,
                "shell_transition": self.shell_transition, "shell_months": self.shell_months}


_STRATEGY_ORDER = [Strategy.SHUTDOWN, Strategy.RESTRICT, Strategy.DORMANT, Strategy.MATRIX]

# R9.4 decision model: (field, value) → (reason, points per strategy). Optional registry fields;
# an empty field weighs nothing.
DECISION_WEIGHTS = {
    ("stage", "growing"): (gettext_lazy("Growing account: it still gains an audience; keep it rather than close it."),
                           {"dormant": 2, "restrict": 2}),
    ("stage", "mature"): (gettext_lazy("Mature account: its audience is worth keeping; move its content to a "
                                       "sub-account and keep it as a funnel."), {"matrix": 2, "dormant": 1}),
    ("stage", "declining"): (gettext_lazy("Declining account: little is lost by closing it."), {"shutdown": 2}),
    ("income_need", "high"): (gettext_lazy("The account must keep earning money: keep it with fewer permissions "
                                           "instead of closing it."), {"restrict": 2, "matrix": 1}),
    ("income_need", "low"): (gettext_lazy("The account need not earn money: nothing holds the shutdown back."),
                             {"shutdown": 1}),
    ("content_cost", "high"): (gettext_lazy("Its content is costly to produce: stop producing (dormant) or close "
                                            "it."), {"dormant": 1, "shutdown": 1}),
    ("content_cost", "low"): (gettext_lazy("Its content is cheap to produce: keep publishing through a matrix "
                                           "sub-account."), {"matrix": 1}),
}


def recommend(*, sub_account, policy) -> Recommendation:
    """Weigh followers, earnings, pending orders and risk, and the account's stage, need to earn
    money and content cost (R9.4); propose a shell transition for a large audience (R9.2). The
    user may follow it or not (and records why not on the item)."""
    a = sub_account
    score = dict.fromkeys(_STRATEGY_ORDER, 0)
    reasons = []

    def weigh(rule, text, **points):
        for strategy, n in points.items():
            score[strategy] += n
        reasons.append({"rule": rule, "reason": text, "favours": sorted(points, key=lambda s: -points[s])[0]})

    shell = a.followers >= policy.shell_followers_threshold
    if shell:
        weigh("R9.2", _("%(n)s followers: an audience worth keeping; move content or keep the account.")
              % {"n": a.followers}, matrix=3, dormant=1)
    else:
        weigh("R9.4", _("%(n)s followers: a small audience, little is lost by closing.") % {"n": a.followers},
              shutdown=2)
    earnings = (a.unwithdrawn_earnings or 0) + (a.pending_ad_revenue or 0)
    if a.pending_ad_revenue and a.pending_ad_revenue < policy.ad_payout_threshold_cny:
        weigh("R3.2", _("Pending ad revenue %(amount)s yuan is below the %(n)s yuan payout threshold: a shutdown "
                        "returns it to the advertiser.") % {"amount": a.pending_ad_revenue,
                                                            "n": policy.ad_payout_threshold_cny}, dormant=2)
    elif earnings:
        weigh("R3.1", _("%(amount)s yuan of earnings are still open: a shutdown freezes live-streaming and forces "
                        "settlement.") % {"amount": earnings}, dormant=1, restrict=1)
    if a.pending_orders:
        weigh("R4", _("%(n)s commercial orders are pending: keep the account so they can be fulfilled.")
              % {"n": a.pending_orders}, restrict=3)
    if a.high_risk:
        weigh("R7.2", _("High public-opinion risk: close comments and reposts at once, or shut down."),
              restrict=2, shutdown=1)
    if not earnings and not a.pending_orders and not a.high_risk:
        weigh("R9.4", _("No earnings, no pending orders, no risk: nothing to keep the account for."), shutdown=1)
    for name in ("stage", "income_need", "content_cost"):  # R9.4 decision model
        found = DECISION_WEIGHTS.get((name, getattr(a, name, "") or ""))
        if found:
            weigh("R9.4", str(found[0]), **found[1])
    best = max(_STRATEGY_ORDER, key=lambda s: (score[s], -_STRATEGY_ORDER.index(s)))
    if shell:
        reasons.append({"rule": "R9.2", "favours": "shutdown", "reason": _(
            "If it is shut down: keep it as an empty shell for %(m)s months first while the followers move "
            "elsewhere; the shutdown then follows.") % {"m": policy.shell_months}})
    return Recommendation(strategy=str(best), reasons=reasons, shell_transition=shell,
                          shell_months=policy.shell_months if shell else 0)


# --- Checklist (R9.1, R1.1–R1.2, R1.3, R3, R6, R7, R9.2, R9.3, R5) ------------------------------


@dataclass
class Step:
    phase: str
    rule: str
    text: str

    def as_dict(self) -> dict:
        return {"phase": self.phase, "rule": self.rule, "text": self.text}


PHASES = {
    "prepare": gettext_lazy("Prepare"),
    "documents": gettext_lazy("Documents"),
    "platform": gettext_lazy("Platform order"),
    "execute": gettext_lazy("Execute"),
    "money": gettext_lazy("Earnings and linked services"),
    "after": gettext_lazy("Afterwards"),
}

R6_STEP = {
    Platform.DOUYIN: gettext_lazy("Stop third-party content sync first; fan-profile collection stops."),
    Platform.KUAISHOU: gettext_lazy("Stop third-party content sync first; fan-profile collection stops."),
    Platform.WECHAT: gettext_lazy("Clean the redirect-link whitelist together with the menu configuration; "
                                  "menu entries break."),
    Platform.BILIBILI: gettext_lazy("Last: cancel the cross-platform binding; joint submissions are disabled."),
    Platform.XIAOHONGSHU: gettext_lazy("Last: cancel the cross-platform binding; joint submissions are disabled."),
}

# R2.4: where the fan data is read, and what it takes (also shown by the preparation checklist).
FAN_PROFILE_STEP = gettext_lazy("Fan profile: %(d)s days of basic fan data are read in the creator service centre "
                                "(创作者服务中心); it needs a fresh authorised login.")

MOBILE_PATH = "我的-创作中心-视频号管理"
PC_PATH = "设置-创作者服务-视频号设置"


def checklist(*, sub_account, strategy: str, policy, topic_transfer_target: str = "",
              matrix_target_name: str = "") -> list[Step]:
    a = sub_account
    p = policy
    s: list[Step] = []
    s.append(Step("prepare", "R9.1", _("1. Export the last %(m)s months of interaction data (data centre → content "
                                      "analysis, CSV only).") % {"m": p.interaction_export_months}))
    s.append(Step("prepare", "R9.1", _("2. Back up drafts and video files locally (downloaded by hand; other "
                                      "platforms may need transcoding).")))
    s.append(Step("prepare", "R9.1", _("3. Unbind every third-party authorisation (%(n)s bound now).")
                  % {"n": a.third_party_authorisations}))
    s.append(Step("prepare", "R2.4", FAN_PROFILE_STEP % {"d": p.fan_profile_days}))
    for kind, rule in required_documents(a, strategy):
        s.append(Step("documents", rule, _("Upload: %(doc)s.") % {"doc": DocumentKind(kind).label}))
    if a.kind == AccountKind.THIRD_PARTY:
        s.append(Step("documents", "R1.3", _("Unbind on the original platform first (安全中心-应用授权管理).")))
    if a.platform in R6_STEP:
        s.append(Step("platform", "R6", str(R6_STEP[a.platform])))
    if strategy == Strategy.SHUTDOWN:
        s.append(Step("execute", "R1.1", _("No one-click shutdown: profile → creator centre → video account "
                                          "management → stop service.")))
        s.append(Step("execute", "R1.2", _("On mobile: %(path)s.") % {"path": MOBILE_PATH}))
        s.append(Step("execute", "R1.2", _("On PC web: %(path)s.") % {"path": PC_PATH}))
    elif strategy == Strategy.DORMANT:
        s.append(Step("execute", "R5.1", _("Keep the account and stop updating; someone must log in every %(n)s "
                                          "month(s).") % {"n": p.dormant_login_interval_months}))
    elif strategy == Strategy.RESTRICT:
        s.append(Step("execute", "R5.2", _("Close comments and reposts; keep private messages only.")))
    elif strategy == Strategy.MATRIX:
        s.append(Step("execute", "R5.3", _("Move the content to %(target)s; the old account becomes a funnel.")
                      % {"target": matrix_target_name or _("the named target account")}))
    if strategy == Strategy.SHUTDOWN:
        if a.unwithdrawn_earnings:
            s.append(Step("money", "R3.1", _("Live-streaming permission is frozen at once; %(amount)s yuan of "
                                            "unwithdrawn earnings must be settled within %(n)s working days.")
                          % {"amount": a.unwithdrawn_earnings, "n": p.settlement_working_days}))
        elif a.live_streaming:
            s.append(Step("money", "R3.1", _("Live-streaming permission is frozen at once; no unwithdrawn "
                                            "earnings to settle.")))
        if a.pending_ad_revenue:
            paid = a.pending_ad_revenue >= p.ad_payout_threshold_cny
            text = (_("Pending ad revenue %(amount)s yuan reaches %(n)s yuan: it is paid out.") if paid else
                    _("Pending ad revenue %(amount)s yuan is below %(n)s yuan: it returns to the advertiser."))
            s.append(Step("money", "R3.2", text % {"amount": a.pending_ad_revenue, "n": p.ad_payout_threshold_cny}))
        if a.hosted_topics:
            target = topic_transfer_target.strip()
            text = (_("Transfer %(n)s hosted topic(s) to %(target)s; revocable within %(d)s days.")
                    % {"n": a.hosted_topics, "target": target, "d": p.topic_transfer_revocable_days}) if target else (
                    _("Name the account that takes over %(n)s hosted topic(s) before this item can proceed.")
                    % {"n": a.hosted_topics})
            s.append(Step("money", "R3.3", text))
        if a.blue_v:
            s.append(Step("money", "R3.4", _("Blue-V certification stays; the video-account benefits package is "
                                            "lost.")))
        if a.followers >= p.shell_followers_threshold:
            # R9.2: the shell is kept *before* the shutdown, never after it.
            s.append(Step("prepare", "R9.2", _("%(f)s followers: keep the account as an empty shell for %(m)s months "
                                              "while followers move elsewhere (shell transition); the shutdown is "
                                              "scheduled at its end.") % {"f": a.followers, "m": p.shell_months}))
        s.append(Step("after", "R9.3", _("The video account cannot be reopened for %(d)s days.")
                      % {"d": p.reopen_block_days}))
    if a.high_risk:
        s.append(Step("after", "R7.2", _("High risk: a delayed review of up to %(d)s days may be requested; start "
                                        "clearing content now.") % {"d": p.delayed_review_max_days}))
    if a.region == Region.INTERNATIONAL:
        s.append(Step("after", "R7.3", _("International: processing takes %(pct)s %% longer.")
                      % {"pct": int((p.international_time_factor - 1) * 100)}))
    return s


# --- Tiers (R6, R7.1) -------------------------------------------------------------------------

# R6: Douyin/Kuaishou first, WeChat together with its menu work, Bilibili/Xiaohongshu last.
# Weibo (the video account the source describes) has no cross-platform step: with WeChat.
PLATFORM_ORDER = [
    ("first", gettext_lazy("Douyin / Kuaishou (first)"), {Platform.DOUYIN, Platform.KUAISHOU}),
    ("middle", gettext_lazy("WeChat / Weibo (with the menu configuration)"), {Platform.WECHAT, Platform.WEIBO}),
    ("last", gettext_lazy("Bilibili / Xiaohongshu (last)"), {Platform.BILIBILI, Platform.XIAOHONGSHU}),
]

SPLIT_RULES = {
    "platform": gettext_lazy("Platform order (R6)"),
    "risk": gettext_lazy("Risk: high-risk accounts first (R7.2 delayed review starts early)"),
    "followers": gettext_lazy("Followers: smallest audiences first"),
    "batch_size": gettext_lazy("Batches of a fixed size"),
}


def split_into_tiers(*, rows: list[tuple[int, object]], rule: str, batch_size: int | None = None,
                     policy=None) -> list[tuple[str, list[int]]]:
    """rows: (item id, sub-account). Returns ordered (tier name, item ids); empty tiers dropped."""
    if rule == "platform":
        groups = []
        for _key, label, platforms in PLATFORM_ORDER:
            ids = [item_id for item_id, a in rows if a.platform in platforms]
            groups.append((str(label), ids))
        return [(n, ids) for n, ids in groups if ids]
    if rule == "risk":
        return [(n, ids) for n, ids in [
            (_("High risk"), [i for i, a in rows if a.high_risk]),
            (_("Other accounts"), [i for i, a in rows if not a.high_risk]),
        ] if ids]
    if rule == "followers":
        threshold = policy.shell_followers_threshold
        return [(n, ids) for n, ids in [
            (_("Under %(n)s followers") % {"n": threshold}, [i for i, a in rows if a.followers < threshold]),
            (_("%(n)s followers or more") % {"n": threshold}, [i for i, a in rows if a.followers >= threshold]),
        ] if ids]
    if rule == "batch_size":
        size = int(batch_size or 0)
        ordered = [i for i, _a in rows]
        return [(_("Batch %(n)s") % {"n": k // size + 1}, ordered[k:k + size]) for k in range(0, len(ordered), size)]
    raise ValueError(rule)

SPLIT_RULE_CHOICES = list(SPLIT_RULES.items())

# Generated tier names are stored in English (the source language) and named at display time
# in the viewer's language; names typed by people are shown as typed.
TIER_NAME_LANGUAGE = "en"
_FIXED_TIER_NAMES = [label for _key, label, _p in PLATFORM_ORDER] + [gettext_lazy("High risk"),
                                                                    gettext_lazy("Other accounts")]
_NUMBERED_TIER_NAMES = [gettext_lazy("Under %(n)s followers"), gettext_lazy("%(n)s followers or more"),
                        gettext_lazy("Batch %(n)s")]


def _tier_name_lookup() -> tuple[dict, list]:
    from django.conf import settings

    fixed, numbered = {}, []
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            for label in _FIXED_TIER_NAMES:
                fixed[str(label)] = label
            for label in _NUMBERED_TIER_NAMES:
                pattern = re.escape(str(label)).replace(re.escape("%(n)s"), r"(\d+)")
                numbered.append((re.compile(f"^{pattern}$"), label))
    return fixed, numbered


def tier_display_name(name: str) -> str:
    """A tier's name in the current language: generated names (“Batch 2”, “Douyin / Kuaishou
    (first)”) are recognised in any language and translated; other names are returned as is."""
    fixed, numbered = _tier_name_lookup()
    if name in fixed:
        return str(fixed[name])
    for pattern, label in numbered:
        match = pattern.match(name or "")
        if match:
            return str(label) % {"n": match.group(1)}
    return name
