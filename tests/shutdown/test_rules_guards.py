"""Rules that once broke with every test green (issue 20: surviving mutants).

What an operator would notice: the settlement step missing from a checklist, a "risk" split that
returns no tiers, a contract that blocks (or not) a day off, a different recommendation.
"""

import math
from datetime import date
from decimal import Decimal

import pytest

from rulebook.policy import DEFAULTS
from shutdown import rules

from .test_rules import account

TODAY = date(2026, 3, 10)


def _r31(a):
    return [
        s.text
        for s in rules.checklist(sub_account=a, strategy="shutdown", policy=DEFAULTS)
        if s.rule == "R3.1"
    ]


def test_the_settlement_step_names_the_unwithdrawn_earnings_and_the_working_days():
    steps = _r31(account(unwithdrawn_earnings=Decimal(1200), live_streaming=True))
    assert len(steps) == 1
    assert "1200 yuan of unwithdrawn earnings" in steps[0]
    assert f"within {DEFAULTS.settlement_working_days} working days" in steps[0]
    # earnings but no live streaming: still settled
    assert "1200 yuan" in _r31(account(unwithdrawn_earnings=Decimal(1200)))[0]


def test_live_streaming_without_earnings_says_there_is_nothing_to_settle():
    assert _r31(account(live_streaming=True)) == [
        "Live-streaming permission is frozen at once; no unwithdrawn earnings to settle."
    ]
    assert _r31(account()) == []  # neither: no R3.1 step


def test_no_settlement_step_outside_a_full_shutdown():
    a = account(unwithdrawn_earnings=Decimal(1200), live_streaming=True)
    for strategy in ("dormant", "restrict", "matrix"):
        assert "R3.1" not in {
            s.rule for s in rules.checklist(sub_account=a, strategy=strategy, policy=DEFAULTS)
        }


def test_the_risk_split_puts_high_risk_accounts_first_and_keeps_everyone():
    rows = [(1, account()), (2, account(high_risk=True)), (3, account()), (4, account(high_risk=True))]
    assert rules.split_into_tiers(rows=rows, rule="risk") == [
        ("High risk", [2, 4]),
        ("Other accounts", [1, 3]),
    ]
    calm = [(1, account()), (3, account())]
    assert rules.split_into_tiers(rows=calm, rule="risk") == [("Other accounts", [1, 3])]
    risky = [(2, account(high_risk=True))]
    assert rules.split_into_tiers(rows=risky, rule="risk") == [("High risk", [2])]


def test_the_followers_split_at_the_threshold():
    n = DEFAULTS.shell_followers_threshold
    rows = [(1, account(followers=n)), (2, account(followers=n - 1)), (3, account(followers=0))]
    assert rules.split_into_tiers(rows=rows, rule="followers", policy=DEFAULTS) == [
        (f"Under {n} followers", [2, 3]),
        (f"{n} followers or more", [1]),
    ]


def test_batches_of_a_fixed_size_are_numbered_from_one():
    rows = [(i, account()) for i in range(1, 6)]
    assert rules.split_into_tiers(rows=rows, rule="batch_size", batch_size=2) == [
        ("Batch 1", [1, 2]),
        ("Batch 2", [3, 4]),
        ("Batch 3", [5]),
    ]
    with pytest.raises(ValueError):
        rules.split_into_tiers(rows=rows, rule="alphabet")


def _blocks_on_contract(end):
    codes = rules.precheck_codes(
        sub_account=account(mcn_contract_end=end),
        strategy="shutdown",
        topic_transfer_target="",
        documents=set(),
        today=TODAY,
    )
    return "permissions.mcn_contract_active" in codes


def test_a_contract_ending_tomorrow_blocks_one_ended_yesterday_does_not():
    # A contract ending today is being decided elsewhere (it should block until the next day);
    # the days around it are not in question.
    assert _blocks_on_contract(date(2026, 3, 11))
    assert not _blocks_on_contract(date(2026, 3, 9))
    assert not _blocks_on_contract(None)


# The recommendation (R9.4) for every mix of audience, money, orders and risk: the weights of
# each reason decide these; a changed weight changes at least one line.
EARNINGS = {
    "none": {},
    "earnings": {"unwithdrawn_earnings": Decimal(800)},
    "small_ads": {"pending_ad_revenue": Decimal(100)},
}
RECOMMENDED = [
    (500, "none", 0, False, "shutdown"),
    (500, "none", 0, True, "shutdown"),
    (500, "none", 1, False, "restrict"),
    (500, "none", 1, True, "restrict"),
    (500, "earnings", 0, False, "shutdown"),
    (500, "earnings", 0, True, "shutdown"),
    (500, "earnings", 1, False, "restrict"),
    (500, "earnings", 1, True, "restrict"),
    (500, "small_ads", 0, False, "shutdown"),
    (500, "small_ads", 0, True, "shutdown"),
    (500, "small_ads", 1, False, "restrict"),
    (500, "small_ads", 1, True, "restrict"),
    (50000, "none", 0, False, "matrix"),
    (50000, "none", 0, True, "matrix"),
    (50000, "none", 1, False, "restrict"),
    (50000, "none", 1, True, "restrict"),
    (50000, "earnings", 0, False, "matrix"),
    (50000, "earnings", 0, True, "restrict"),
    (50000, "earnings", 1, False, "restrict"),
    (50000, "earnings", 1, True, "restrict"),
    (50000, "small_ads", 0, False, "dormant"),
    (50000, "small_ads", 0, True, "dormant"),
    (50000, "small_ads", 1, False, "restrict"),
    (50000, "small_ads", 1, True, "restrict"),
]


@pytest.mark.parametrize(("followers", "money", "orders", "risk", "expected"), RECOMMENDED)
def test_the_recommendation_for_each_mix(followers, money, orders, risk, expected):
    a = account(followers=followers, pending_orders=orders, high_risk=risk, **EARNINGS[money])
    assert rules.recommend(sub_account=a, policy=DEFAULTS).strategy == expected


def test_each_reason_says_which_strategy_it_favours():
    a = account(followers=50000, unwithdrawn_earnings=Decimal(800), pending_orders=2, high_risk=True)
    reasons = rules.recommend(sub_account=a, policy=DEFAULTS).reasons
    assert [(r["rule"], r["favours"]) for r in reasons] == [
        ("R9.2", "matrix"),
        ("R3.1", "dormant"),
        ("R4", "restrict"),
        ("R7.2", "restrict"),
        ("R9.2", "shutdown"),  # a large audience: the shell transition before the shutdown
    ]
    calm = rules.recommend(sub_account=account(), policy=DEFAULTS).reasons
    assert [(r["rule"], r["favours"]) for r in calm] == [("R9.4", "shutdown"), ("R9.4", "shutdown")]
    assert "800 yuan of earnings" in reasons[1]["reason"]


def _steps(a, strategy="shutdown", **kw):
    return [
        (s.rule, s.text) for s in rules.checklist(sub_account=a, strategy=strategy, policy=DEFAULTS, **kw)
    ]


def test_each_strategy_shows_its_own_execution_step():
    execute = {
        strategy: [
            rule for rule, _t in _steps(account(), strategy) if rule.startswith(("R1.1", "R1.2", "R5"))
        ]
        for strategy in ("shutdown", "dormant", "restrict", "matrix")
    }
    assert execute == {
        "shutdown": ["R1.1", "R1.2", "R1.2"],
        "dormant": ["R5.1"],
        "restrict": ["R5.2"],
        "matrix": ["R5.3"],
    }


def test_only_international_accounts_get_the_longer_processing_step_with_its_percentage():
    assert "R7.3" not in {rule for rule, _t in _steps(account())}
    # the region as a plain string (as read from the database), not the enum member
    international = dict(_steps(account(region="".join(["inter", "national"]))))
    pct = int((DEFAULTS.international_time_factor - 1) * 100)
    assert international["R7.3"] == f"International: processing takes {pct} % longer."
    assert pct == 50


def test_a_split_rule_given_as_text_from_a_form_works():
    rows = [(i, account()) for i in range(1, 4)]
    rule = "".join(["batch", "_", "size"])  # not the interned literal
    assert [ids for _n, ids in rules.split_into_tiers(rows=rows, rule=rule, batch_size=2)] == [[1, 2], [3]]


def test_personal_and_enterprise_estimates_are_not_provisional():
    from datetime import UTC, datetime

    start = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
    for kind in ("personal", "enterprise"):
        e = rules.expected_effective(sub_account=account(kind=kind), policy=DEFAULTS, start=start, tz=UTC)
        assert not e.provisional


def test_only_an_heir_needs_the_inheritance_certificate():
    assert rules.required_documents(account()) == []
    assert rules.required_documents(account(owner_relation="".join(["he", "ir"]))) == [
        ("inheritance_certificate", "R7.4")
    ]


def test_generated_tier_names_keep_their_number_in_any_language():
    from django.utils import translation

    with translation.override("en"):
        assert rules.tier_display_name("Batch 3") == "Batch 3"
        assert rules.tier_display_name("第一批") == "第一批"  # typed by a person: as typed
    with translation.override("zh-hans"):
        assert "3" in rules.tier_display_name("Batch 3")
        assert rules.tier_display_name("Batch 3") != "Batch 3"


def test_ad_revenue_above_the_threshold_counts_as_open_earnings():
    reasons = rules.recommend(sub_account=account(pending_ad_revenue=Decimal(600)), policy=DEFAULTS).reasons
    assert [r["rule"] for r in reasons] == ["R9.4", "R3.1"]
    assert "600 yuan of earnings" in reasons[1]["reason"]


@pytest.mark.django_db
def test_an_international_third_party_account_takes_half_as_long_again():
    from datetime import UTC, datetime

    from rulebook.workdays import add_working_days

    start = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # a Tuesday in an official year
    a = account(kind="third_party", region="international")
    e = rules.expected_effective(sub_account=a, policy=DEFAULTS, start=start, tz=UTC)
    low = math.ceil(DEFAULTS.third_party_min_working_days * DEFAULTS.international_time_factor)
    high = math.ceil(DEFAULTS.third_party_max_working_days * DEFAULTS.international_time_factor)
    assert e.earliest.date() == add_working_days(start=start.date(), days=low)[0]
    assert e.latest.date() == add_working_days(start=start.date(), days=high)[0]
    assert high > DEFAULTS.third_party_max_working_days
    assert "International: processing takes 50 % longer." in e.notes
