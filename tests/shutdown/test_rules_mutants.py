"""Pre-check rules that a surviving mutant showed unguarded (issue 20, sample of 40).

What a user would notice: accounts split into batches of a size nobody asked for, a step
that does not concern the account on its checklist, another recommendation than the
decision model gives.
"""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from rulebook.policy import DEFAULTS
from shutdown import rules
from shutdown.models import Strategy

from .test_rules import account
from .test_rules_guards import EARNINGS


@pytest.mark.parametrize("size", [None, 0])
def test_a_batch_split_without_a_size_is_refused_not_guessed(size):
    """No size (or 0) is an error of the caller (the service asks for "at least 1"): the rule
    neither invents a size (one account per batch) nor returns no batch at all."""
    rows = [(i, account()) for i in range(1, 4)]
    with pytest.raises(ValueError):
        rules.split_into_tiers(rows=rows, rule="batch_size", batch_size=size)


def test_a_batch_size_given_as_text_from_a_form_splits_every_account():
    rows = [(i, account()) for i in range(1, 5)]
    assert rules.split_into_tiers(rows=rows, rule="batch_size", batch_size="3") == [
        ("Batch 1", [1, 2, 3]),
        ("Batch 2", [4]),
    ]


def _steps(a, strategy="shutdown"):
    return rules.checklist(sub_account=a, strategy=strategy, policy=DEFAULTS)


UNBIND_FIRST = "Unbind on the original platform first"


@pytest.mark.parametrize("kind", ["personal", "enterprise"])
def test_only_a_third_party_account_is_told_to_unbind_on_the_original_platform(kind):
    assert not any(UNBIND_FIRST in s.text for s in _steps(account(kind=kind)))
    codes = rules.precheck_codes(
        sub_account=account(kind=kind),
        strategy="shutdown",
        topic_transfer_target="",
        documents={"legal_rep_authorisation"},
        today=date(2026, 3, 10),
    )
    assert codes == []


def test_a_third_party_account_is_told_to_unbind_on_the_original_platform_first():
    steps = [s for s in _steps(account(kind="third_party")) if UNBIND_FIRST in s.text]
    assert [(s.phase, s.rule) for s in steps] == [("documents", "R1.3")]


# The R9.4 decision model (stage, need to earn money, content cost) mixed with audience, money,
# orders and risk: each line is tipped by the points of the decision model, so a point more or
# less on any of its entries changes the recommendation or the strategy a reason says it favours.
DECISION_MIXES = [
    # followers, money, orders, risk, stage, income_need, content_cost -> strategy, favoured by each reason
    (
        (50000, "none", 0, False, "growing", "high", "high"),
        ("restrict", ["matrix", "shutdown", "dormant", "restrict", "dormant", "shutdown"]),
    ),
    (
        (500, "earnings", 0, False, "mature", "high", "high"),
        ("shutdown", ["shutdown", "dormant", "matrix", "restrict", "dormant"]),
    ),
    (
        (500, "none", 0, False, "mature", "high", "low"),
        ("matrix", ["shutdown", "shutdown", "matrix", "restrict", "matrix"]),
    ),
    (
        (50000, "none", 0, False, "declining", "low", "low"),
        ("shutdown", ["matrix", "shutdown", "shutdown", "shutdown", "matrix", "shutdown"]),
    ),
    (
        (50000, "none", 1, False, "declining", "low", "low"),
        ("matrix", ["matrix", "restrict", "shutdown", "shutdown", "matrix", "shutdown"]),
    ),
    ((500, "small_ads", 0, False, "mature", "", ""), ("dormant", ["shutdown", "dormant", "matrix"])),
]


@pytest.mark.parametrize(("mix", "expected"), DECISION_MIXES)
def test_the_recommendation_with_the_decision_model(mix, expected):
    followers, money, orders, risk, stage, income_need, content_cost = mix
    a = account(
        followers=followers,
        pending_orders=orders,
        high_risk=risk,
        stage=stage,
        income_need=income_need,
        content_cost=content_cost,
        **EARNINGS[money],
    )
    recommendation = rules.recommend(sub_account=a, policy=DEFAULTS)
    assert (recommendation.strategy, [r["favours"] for r in recommendation.reasons]) == expected


@pytest.mark.parametrize("rule", ["platform", "risk", "followers", "batch_size"])
def test_every_split_rule_given_as_text_from_a_form_works(rule):
    """The rule comes from a form or the API: an equal string, not the same object as the literal."""
    rows = [(1, account(platform="bilibili", high_risk=True, followers=0)), (2, account(platform="douyin"))]
    typed = "".join(list(rule))  # not the interned literal
    assert typed == rule and typed is not rule
    assert rules.split_into_tiers(
        rows=rows, rule=typed, batch_size=1, policy=DEFAULTS
    ) == rules.split_into_tiers(rows=rows, rule=rule, batch_size=1, policy=DEFAULTS)
    assert sorted(
        i
        for _n, ids in rules.split_into_tiers(rows=rows, rule=typed, batch_size=1, policy=DEFAULTS)
        for i in ids
    ) == [1, 2]


@pytest.mark.parametrize("strategy", [Strategy.SHUTDOWN, "".join(["shut", "down"])])
def test_a_high_risk_shutdown_estimate_adds_the_delayed_review_whatever_string_names_the_strategy(strategy):
    """The strategy read from the task (the model's choice, a stored string) is not the literal
    object: the R7.2 delay still widens the estimate of a full shutdown."""
    start = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
    estimate = rules.expected_effective(
        sub_account=account(high_risk=True),
        policy=DEFAULTS,
        start=start,
        tz=ZoneInfo("Asia/Shanghai"),
        strategy=strategy,
    )
    assert estimate.latest == start + timedelta(days=DEFAULTS.delayed_review_max_days)
    assert "R7.2" in estimate.rules
    dormant = rules.expected_effective(
        sub_account=account(high_risk=True),
        policy=DEFAULTS,
        start=start,
        tz=ZoneInfo("Asia/Shanghai"),
        strategy="".join(["dor", "mant"]),
    )
    assert dormant.latest == start and "R7.2" not in dormant.rules


def test_accounts_well_above_the_threshold_are_in_the_big_audience_tier():
    n = DEFAULTS.shell_followers_threshold
    rows = [(1, account(followers=n * 10)), (2, account(followers=n - 1)), (3, account(followers=n + 1))]
    assert rules.split_into_tiers(rows=rows, rule="followers", policy=DEFAULTS) == [
        (f"Under {n} followers", [2]),
        (f"{n} followers or more", [1, 3]),
    ]


def test_a_blocker_shows_its_reason_and_where_to_clear_it():
    assert rules.blocker_reason("permissions.pending_orders") == "Commercial orders are still pending."
    assert rules.blocker_channel("permissions.pending_orders") == "Agency back office → contract termination"
    assert rules.blocker_reason("handover.topic_target").startswith("Hosted topics: name the account")
    assert rules.blocker_channel("handover.topic_target") == "Name the target account on the item"
    assert rules.blocker_reason("something.unknown") == "something.unknown"  # an old code is shown as is
    assert rules.blocker_channel("something.unknown") == ""
