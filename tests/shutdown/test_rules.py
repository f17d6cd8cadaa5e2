"""The rules module: every output names its rule id and reads numbers from the policy."""

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from rulebook.policy import DEFAULTS
from shutdown import rules

TZ = ZoneInfo("Asia/Shanghai")
# 2025-09-29 is a Monday; 1–8 October 2025 is the National Day holiday, 28 Sep and 11 Oct are make-up days.
MONDAY = datetime(2025, 9, 29, 2, 0, tzinfo=UTC)


def account(**overrides):
    base = dict(platform="douyin", kind="personal", region="domestic", owner_relation="creator", followers=500,
                high_risk=False, blue_v=False, live_streaming=False, unwithdrawn_earnings=Decimal(0),
                pending_ad_revenue=Decimal(0), hosted_topics=0, bound_mini_programs=0, third_party_authorisations=0,
                api_anomaly=False, mcn_contract_end=None, open_infringement_complaints=0, pending_orders=0)
    return SimpleNamespace(**{**base, **overrides})


def test_personal_is_immediate_enterprise_within_review_hours():
    e = rules.expected_effective(sub_account=account(), policy=DEFAULTS, start=MONDAY, tz=TZ)
    assert e.earliest == e.latest == MONDAY
    assert e.rules == ["R1.3"]
    e = rules.expected_effective(sub_account=account(kind="enterprise"), policy=DEFAULTS, start=MONDAY, tz=TZ)
    assert (e.latest - e.earliest).total_seconds() == DEFAULTS.enterprise_review_hours * 3600


@pytest.mark.django_db
def test_third_party_counts_chinese_working_days_across_national_day():
    e = rules.expected_effective(sub_account=account(kind="third_party"), policy=DEFAULTS, start=MONDAY, tz=TZ)
    # 3 working days after Mon 29 Sep: Tue 30 Sep, Thu 9 Oct, Fri 10 Oct; 5: Sat 11 Oct (make-up day), Mon 13 Oct
    assert e.earliest.astimezone(TZ).date() == date(2025, 10, 10)
    assert e.latest.astimezone(TZ).date() == date(2025, 10, 13)
    assert not e.provisional


def test_international_takes_longer_and_high_risk_may_be_delayed():
    policy = DEFAULTS
    e = rules.expected_effective(sub_account=account(kind="enterprise", region="international", high_risk=True),
                                 policy=policy, start=MONDAY, tz=TZ)
    hours = policy.enterprise_review_hours * policy.international_time_factor
    assert (e.latest - MONDAY).total_seconds() == float(hours) * 3600 + policy.delayed_review_max_days * 86400
    assert e.rules == ["R1.3", "R7.3", "R7.2"]


def test_precheck_codes_cover_r4_documents_and_topic_handover():
    a = account(open_infringement_complaints=2, mcn_contract_end=date(2030, 1, 1), pending_orders=1,
                bound_mini_programs=1, third_party_authorisations=1, api_anomaly=True, kind="enterprise",
                region="international", owner_relation="heir", hosted_topics=1)
    codes = rules.precheck_codes(sub_account=a, strategy="shutdown", topic_transfer_target="", documents=set(),
                                 today=date(2026, 1, 1))
    assert len(codes) == 10
    assert all(rules.BLOCKERS[c][1] in {"R4", "R9.1", "R1.3", "R7.3", "R7.4", "R3.3"} for c in codes)
    # an ended contract, uploaded documents and a named target clear their blockers
    codes = rules.precheck_codes(sub_account=replace_ns(a, mcn_contract_end=date(2025, 1, 1)), strategy="shutdown",
                                 topic_transfer_target="@new", today=date(2026, 1, 1),
                                 documents={"legal_rep_authorisation", "gdpr_declaration", "inheritance_certificate"})
    assert not any(c.startswith(("documents.", "handover.", "permissions.mcn")) for c in codes)
    # a dormant account is not shut down: only its documents are checked
    assert rules.precheck_codes(sub_account=a, strategy="dormant", topic_transfer_target="", documents=set(),
                                today=date(2026, 1, 1)) == ["documents.legal_rep_authorisation",
                                                            "documents.gdpr_declaration",
                                                            "documents.inheritance_certificate"]


def replace_ns(ns, **changes):
    return SimpleNamespace(**{**vars(ns), **changes})


def test_checklist_has_phases_paths_money_and_shell():
    a = account(followers=DEFAULTS.shell_followers_threshold, live_streaming=True, unwithdrawn_earnings=Decimal(800),
                pending_ad_revenue=Decimal(499), hosted_topics=1, blue_v=True, platform="wechat")
    steps = rules.checklist(sub_account=a, strategy="shutdown", policy=DEFAULTS)
    by_rule = {}
    for s in steps:
        by_rule.setdefault(s.rule, []).append(s.text)
    assert len(by_rule["R9.1"]) == 3
    assert rules.MOBILE_PATH in " ".join(by_rule["R1.2"])
    assert rules.PC_PATH in " ".join(by_rule["R1.2"])
    assert "returns to the advertiser" in by_rule["R3.2"][0]
    assert "Name the account" in by_rule["R3.3"][0]
    assert {"R3.1", "R3.4", "R6", "R9.2", "R9.3"} <= set(by_rule)
    paid = rules.checklist(sub_account=replace_ns(a, pending_ad_revenue=DEFAULTS.ad_payout_threshold_cny),
                           strategy="shutdown", policy=DEFAULTS, topic_transfer_target="@接任")
    assert any("paid out" in s.text for s in paid)
    assert any("@接任" in s.text for s in paid)
    below = rules.checklist(sub_account=replace_ns(a, followers=DEFAULTS.shell_followers_threshold - 1),
                            strategy="shutdown", policy=DEFAULTS)
    assert "R9.2" not in {s.rule for s in below}


def test_policy_overrides_change_the_output():
    policy = replace(DEFAULTS, shell_followers_threshold=100)
    steps = rules.checklist(sub_account=account(followers=150), strategy="shutdown", policy=policy)
    assert "R9.2" in {s.rule for s in steps}


def test_recommendation_weighs_followers_orders_earnings_and_risk():
    assert rules.recommend(sub_account=account(), policy=DEFAULTS).strategy == "shutdown"
    big = rules.recommend(sub_account=account(followers=50000), policy=DEFAULTS)
    assert big.strategy == "matrix"
    assert big.reasons[0]["rule"] == "R9.2"
    assert rules.recommend(sub_account=account(pending_orders=3), policy=DEFAULTS).strategy == "restrict"
    risky = rules.recommend(sub_account=account(high_risk=True), policy=DEFAULTS)
    assert risky.strategy == "shutdown"
    assert any(r["rule"] == "R7.2" for r in risky.reasons)
    risky_orders = rules.recommend(sub_account=account(high_risk=True, pending_orders=1), policy=DEFAULTS)
    assert risky_orders.strategy == "restrict"
    small_ads = rules.recommend(sub_account=account(pending_ad_revenue=Decimal(100)), policy=DEFAULTS)
    assert {"rule": "R3.2", "favours": "dormant"}.items() <= next(
        r for r in small_ads.reasons if r["rule"] == "R3.2").items()


def test_platform_order_tiers_follow_r6():
    rows = [(1, account(platform="bilibili")), (2, account(platform="douyin")), (3, account(platform="wechat")),
            (4, account(platform="xiaohongshu")), (5, account(platform="kuaishou")), (6, account(platform="weibo"))]
    tiers = rules.split_into_tiers(rows=rows, rule="platform")
    assert [ids for _n, ids in tiers] == [[2, 5], [3, 6], [1, 4]]
    assert [ids for _n, ids in rules.split_into_tiers(rows=rows, rule="batch_size", batch_size=4)] == [
        [1, 2, 3, 4], [5, 6]]
