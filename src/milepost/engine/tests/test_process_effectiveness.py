"""Process effectiveness on a hand-built history: every figure written out by hand.

The history (day offsets from 2026-01-01 00:00 UTC; ``->`` is a transition):

    deal amount outcome          path
    1    100    won              a@0 -> b@3 -> c@10 -> won@20
    2    200    lost "price"     a@0 -> b@8.5 -> c@20 -> lost@30
    3    300    won              a@0 -> c@2 (skips b) -> won@5
    4     50    lost "no budget" a@0 -> lost@6
    5     80    lost " " (blank) a@0 -> b@4 -> a@6 (back) -> b@9 -> lost@21
    6    120    won              a@0 -> b@1 -> won@2 (skips c)
    7    500    open             a@0 -> b@2 (still there)
    8     60    lost "price"     c@0 (created past a and b) -> lost@4

Whole days per completed visit: a = 3, 8, 2, 6, 4, 3, 1, 2 (deal 5 twice); b = 7, 11, 2, 12,
1; c = 10, 10, 3, 4.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from milepost.engine.process_effectiveness import (
    CRITERIA_SCHEMA,
    EffectivenessInputError,
    EffectivenessSettings,
    criterion_exit_moments,
    gate_waivers,
    met_at_gate,
    newcombe_interval,
    process_effectiveness,
    stage_visits,
    wilson_interval,
)
from milepost.engine.process_effectiveness.stats import quantile, verdict
from milepost.engine.tests.effectiveness_world import small_process

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def day(x: float) -> datetime:
    return T0 + timedelta(days=x)


PATHS: dict[int, list[tuple[str, float]]] = {
    1: [("a", 0), ("b", 3), ("c", 10), ("won", 20)],
    2: [("a", 0), ("b", 8.5), ("c", 20), ("lost", 30)],
    3: [("a", 0), ("c", 2), ("won", 5)],
    4: [("a", 0), ("lost", 6)],
    5: [("a", 0), ("b", 4), ("a", 6), ("b", 9), ("lost", 21)],
    6: [("a", 0), ("b", 1), ("won", 2)],
    7: [("a", 0), ("b", 2)],
    8: [("c", 0), ("lost", 4)],
}
DEALS = pl.DataFrame(
    {
        "deal_id": [1, 2, 3, 4, 5, 6, 7, 8],
        "outcome": ["won", "lost", "won", "lost", "lost", "won", "open", "lost"],
        "lost_reason": [None, "price", None, "no budget", " ", None, None, "price"],
        "amount": [100.0, 200.0, 300.0, 50.0, 80.0, 120.0, 500.0, 60.0],
    }
)
TRANSITIONS = pl.DataFrame(
    [
        {"transition_id": 100 * deal + i, "deal_id": deal, "to_stage": stage, "moved_at": day(x)}
        for deal, path in PATHS.items()
        for i, (stage, x) in enumerate(path)
    ]
)


def crit(deal: int, stage: str, exited: float, criterion: str, met: bool, **kw: object):
    return {
        "deal_id": deal,
        "stage_key": stage,
        "exited_at": day(exited),
        "criterion_id": criterion,
        "met": met,
        "first_met_at": kw.get("first"),
        "waived": kw.get("waived", False),
        "evidence_level": kw.get("level"),
    }


CRITERIA = pl.DataFrame(
    [
        # a1: met by 1 (buyer), 3 (rep), 5 (manager) and open 7; not met by 2 (met late on
        # day 9, waived) and 6. Deal 5's first forward exit (day 4) is not its last: ignored.
        crit(1, "a", 3, "a1", True, first=day(1), level="buyer"),
        crit(2, "a", 8.5, "a1", False, first=day(9), waived=True),
        crit(3, "a", 2, "a1", True, first=day(1), level="rep"),
        crit(5, "a", 4, "a1", False),
        crit(5, "a", 9, "a1", True, first=day(8), level="manager"),
        crit(6, "a", 1, "a1", False),
        crit(7, "a", 2, "a1", True, first=day(1), level="buyer"),
        # a2: met by 1, 2, 3; not met by 5; deal 6 has no row (unrecorded).
        crit(1, "a", 3, "a2", True),
        crit(2, "a", 8.5, "a2", True),
        crit(3, "a", 2, "a2", True),
        crit(5, "a", 9, "a2", False),
        # b1: met by 1 and 6, not by 2. c1: met by 1 and 3.
        crit(1, "b", 10, "b1", True),
        crit(2, "b", 20, "b1", False),
        crit(6, "b", 2, "b1", True),
        crit(1, "c", 20, "c1", True),
        crit(3, "c", 5, "c1", True),
    ],
    schema=CRITERIA_SCHEMA,
)
SETTINGS = EffectivenessSettings(min_group=2, min_visits=3)


@pytest.fixture(scope="module")
def result():
    return process_effectiveness(
        small_process(), DEALS, TRANSITIONS, CRITERIA, as_of=day(15), settings=SETTINGS
    )


def test_exit_moments_are_the_last_forward_exit_of_each_stage():
    moments = criterion_exit_moments(small_process(), TRANSITIONS)
    a = moments.filter(pl.col("criterion_id") == "a1")
    # Deal 4 left a for lost (no forward exit); deal 5 left a forward twice: day 9 counts.
    assert dict(zip(a["deal_id"], a["exited_at"], strict=True)) == {
        1: day(3),
        2: day(8.5),
        3: day(2),
        5: day(9),
        6: day(1),
        7: day(2),
    }
    assert moments.height == 6 * 2 + 3 + 2  # a1 and a2, b1 (deals 1, 2, 6), c1 (deals 1, 3)


def test_stage_visits_directions_and_days():
    v = stage_visits(small_process(), TRANSITIONS).filter(pl.col("deal_id") == 5)
    assert v.select("stage_key", "direction", "days").rows() == [
        ("a", "forward", 4),
        ("b", "back", 2),
        ("a", "forward", 3),
        ("b", "lost", 12),
    ]


def test_criterion_a1(result):
    a1 = next(c for c in result.criteria if c.criterion == "a1")
    assert (a1.exits, a1.met, a1.not_met, a1.unrecorded, a1.open_exits) == (5, 3, 2, 0, 1)
    c = a1.comparison
    # met: 1 won, 3 won, 5 lost = 2 of 3; not met: 2 lost, 6 won = 1 of 2.
    assert (c.with_.won, c.with_.n, c.without.won, c.without.n) == (2, 3, 1, 2)
    assert c.difference == pytest.approx(2 / 3 - 1 / 2)
    assert (c.low, c.high) == pytest.approx(newcombe_interval(2, 3, 1, 2))
    assert c.verdict == "unclear"
    assert (a1.met_late, a1.waived, a1.buyer_confirmed) == (1, 1, 1)
    assert a1.levels == (("rep", 1), ("manager", 1), ("buyer", 1), ("none", 2))
    assert a1.amount == 100 + 200 + 300 + 80 + 120  # deals 1, 2, 3, 5, 6


def test_deals_behind_the_figures(result):
    exits = result.deals.exits.filter(pl.col("criterion_id") == "a1")
    assert exits.select("deal_id", "met", "met_late", "waived").rows() == [
        (1, True, False, False),
        (2, False, True, True),
        (3, True, False, False),
        (5, True, False, False),
        (6, False, False, False),
    ]
    b = result.deals.visitors.filter(pl.col("stage_key") == "b")
    assert b.select("deal_id", "lost_here", "stalled").rows() == [
        (1, False, False),
        (2, False, True),
        (5, True, True),
        (6, False, False),
        (7, False, False),
    ]
    passed_b = result.deals.passed.filter(pl.col("stage_key") == "b")
    assert passed_b.select("deal_id", "skipped").rows() == [
        (1, False),
        (2, False),
        (3, True),
        (6, False),
        (8, True),
    ]


def test_other_criteria(result):
    by_id = {c.criterion: c for c in result.criteria}
    assert [c.criterion for c in result.criteria] == ["a1", "a2", "b1", "c1"]
    a2 = by_id["a2"]
    assert (a2.exits, a2.met, a2.not_met, a2.unrecorded) == (5, 3, 1, 1)
    assert (a2.comparison.with_.won, a2.comparison.without.won) == (2, 0)
    assert a2.comparison.verdict == "too_few"  # one deal without it, min_group 2
    assert a2.levels[-1] == ("none", 5)
    b1 = by_id["b1"]
    assert (b1.exits, b1.met, b1.not_met, b1.open_exits) == (3, 2, 1, 0)
    assert (b1.comparison.with_.won, b1.comparison.without.won) == (2, 0)
    c1 = by_id["c1"]
    assert (c1.exits, c1.met, c1.not_met) == (2, 2, 0)
    assert c1.comparison.difference is None
    assert c1.comparison.verdict == "too_few"


def test_stage_a(result):
    a = result.stages[0]
    assert (a.stage, a.visitors, a.closed, a.won, a.lost_here, a.lost_elsewhere) == (
        "a",
        7,
        6,
        3,
        1,
        2,
    )
    assert (a.loss_here.won, a.loss_here.n) == (1, 6)
    # Deal 2 was lost from c, deal 5 from b: both after a.
    assert (a.lost_after, a.loss_after.won, a.loss_after.n) == (2, 2, 6)
    assert a.lost_reasons == (("no budget", 1),)
    # days [1, 2, 2, 3, 3, 4, 6, 8]: p50 at 3.5 -> 3; p80 at 5.6 -> 4 + 0.6 * (6 - 4) = 5.2.
    assert (a.completed_visits, a.days_p50, a.days_p80) == (8, 3.0, pytest.approx(5.2))
    assert (a.max_days, a.over_max) == (3, 3)  # 4, 6 and 8 days
    assert (a.open_now, a.open_over_max) == (0, 0)
    # Deal 8 was created in c: a jump over a. Through a: 1, 2, 3, 5, 6 closed (3 won).
    assert (a.skip_transitions, a.skippers, a.passers) == (1, 1, 7)
    assert a.skip_share == pytest.approx(1 / 7)
    assert a.over_max_share == pytest.approx(3 / 8)
    s = a.skip_comparison
    assert (s.with_.won, s.with_.n, s.without.won, s.without.n) == (0, 1, 3, 5)


def test_stage_b(result):
    b = result.stages[1]
    assert (b.visitors, b.closed, b.won, b.lost_here, b.lost_elsewhere) == (5, 4, 2, 1, 1)
    assert b.lost_reasons == (("", 1),)  # deal 5's blank reason: not given
    # days [1, 2, 7, 11, 12]: p50 7; p80 at 3.2 -> 11.2.
    assert (b.completed_visits, b.days_p50, b.days_p80) == (5, 7.0, pytest.approx(11.2))
    assert b.over_max == 2
    # Deal 7 has been in b since day 2: 13 days at day 15, past max 10.
    assert (b.open_now, b.open_over_max) == (1, 1)
    # Jumps over b: 3 (a -> c) and 8 (created in c); through b: 1, 2, 6 (2 won).
    assert (b.skip_transitions, b.skippers, b.passers) == (2, 2, 5)  # 1, 2, 3, 6, 8
    assert b.lost_after == 1  # deal 2, lost from c
    s = b.skip_comparison
    assert (s.with_.won, s.with_.n, s.without.won, s.without.n) == (1, 2, 2, 3)


def test_stage_c(result):
    c = result.stages[2]
    assert (c.visitors, c.closed, c.won, c.lost_here, c.lost_elsewhere) == (4, 4, 2, 2, 0)
    assert c.lost_reasons == (("price", 2),)
    # days [3, 4, 10, 10]: p50 at 1.5 -> 7; p80 at 2.4 -> 10.
    assert (c.days_p50, c.days_p80) == (7.0, 10.0)
    assert (c.max_days, c.over_max, c.open_over_max) == (None, None, None)
    # Deal 6 went b -> won over c; through c: 1 and 3, both won.
    assert (c.skip_transitions, c.skippers, c.passers) == (1, 1, 3)
    assert (c.lost_after, c.over_max_share) == (0, None)
    s = c.skip_comparison
    assert (s.with_.won, s.with_.n, s.without.won, s.without.n) == (1, 1, 2, 2)


def test_suggestions(result):
    kinds = [(s.kind, s.stage, s.criterion) for s in result.suggestions]
    assert kinds == [("max_days_below_p80", "a", None), ("criterion_met_late", "a", "a1")]
    stall, late = result.suggestions
    # a: p80 5.2 >= 1.5 x 3; 3 of 8 visits over; deals 1-7 = 1350.
    assert stall.change.as_json() == {
        "action": "set_stage_field",
        "stage": "a",
        "field": "max_days",
        "from": 3,
        "to": 6,
    }
    assert stall.evidence == pytest.approx(wilson_interval(3, 8)[0])
    assert (stall.affected_deals, stall.affected_amount) == (7, 1350.0)
    assert stall.score == pytest.approx(wilson_interval(3, 8)[0] * 1350)
    assert stall.english() == (
        "A's max_days (3) is far below the time deals really spend there: p80 5.2 days, "
        "median 3, over 8 visits; 3 of them (38%) went over max_days."
    )
    # a1: 1 of 2 not-met exits met late (deal 2): move it to b. Deals 1, 2, 3, 5, 6 = 800.
    assert late.change.as_json() == {
        "action": "move_criterion",
        "stage": "a",
        "criterion": "a1",
        "to": "b",
    }
    assert (late.affected_deals, late.affected_amount) == (5, 800.0)
    assert late.score == pytest.approx(wilson_interval(1, 2)[0] * 800)


def test_rank_by_count():
    r = process_effectiveness(
        small_process(),
        DEALS,
        TRANSITIONS,
        CRITERIA,
        settings=EffectivenessSettings(min_group=2, min_visits=3, rank_by="count"),
    )
    assert [s.score for s in r.suggestions] == pytest.approx(
        [wilson_interval(3, 8)[0] * 7, wilson_interval(1, 2)[0] * 5]
    )


def test_no_criteria_frame_counts_every_exit_unrecorded():
    r = process_effectiveness(small_process(), DEALS, TRANSITIONS, settings=SETTINGS)
    a1 = r.criteria[0]
    assert (a1.exits, a1.met, a1.not_met, a1.unrecorded) == (5, 0, 0, 5)


# --- statistics against published values (Newcombe 1998, Stat Med 17: 857-872 and 873-890) ---


@pytest.mark.parametrize(
    ("won", "n", "low", "high"),
    [
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_matches_newcombe_tables(won, n, low, high):
    lo, hi = wilson_interval(won, n)
    assert (round(lo, 4), round(hi, 4)) == (low, high)


@pytest.mark.parametrize(
    ("a", "b", "low", "high"),
    [
        ((56, 70), (48, 80), 0.0524, 0.3339),
        ((9, 10), (3, 10), 0.1705, 0.8090),
        ((6, 7), (2, 7), 0.0582, 0.8062),
        ((5, 56), (0, 29), -0.0381, 0.1926),
    ],
)
def test_newcombe_matches_published_examples(a, b, low, high):
    lo, hi = newcombe_interval(*a, *b)
    assert (round(lo, 4), round(hi, 4)) == (low, high)


@pytest.mark.parametrize(
    ("n_with", "n_without", "low", "high", "expected"),
    [
        (9, 50, 0.2, 0.5, "too_few"),
        (10, 10, 0.01, 0.5, "higher"),
        (10, 10, -0.5, -0.01, "lower"),
        (100, 100, -0.09, 0.09, "no_difference"),
        (100, 100, -0.05, 0.12, "unclear"),
    ],
)
def test_verdicts(n_with, n_without, low, high, expected):
    assert verdict(n_with, n_without, low, high, min_group=10, margin=0.1) == expected


def test_quantile_is_linear():
    assert quantile([], 0.5) is None
    assert quantile([5], 0.8) == 5
    assert quantile([1, 2, 7, 11, 12], 0.8) == pytest.approx(11.2)


# --- contract ---


@pytest.mark.parametrize(
    ("result_json", "waived"),
    [
        (None, set()),
        (
            {
                "policy": "warn",
                "forward": True,
                "justification": "the CFO said yes",
                "unmet": [{"criterion": "a1"}, {"criterion": "a2"}],
            },
            {"a1", "a2"},
        ),
        (
            {
                "policy": "warn",
                "forward": True,
                "justification": "  ",
                "unmet": [{"criterion": "a1"}],
            },
            set(),
        ),
        (
            {
                "policy": "open",
                "forward": True,
                "justification": "x" * 20,
                "unmet": [{"criterion": "a1"}],
            },
            set(),
        ),
        (
            {
                "policy": "warn",
                "forward": False,
                "justification": "x" * 20,
                "unmet": [{"criterion": "a1"}],
            },
            set(),
        ),
    ],
)
def test_gate_waivers(result_json, waived):
    assert gate_waivers(result_json) == waived


@pytest.mark.parametrize(
    ("frames", "message"),
    [
        ({"deals": DEALS.drop("outcome")}, "deals: missing columns outcome"),
        ({"deals": DEALS.with_columns(outcome=pl.lit("maybe"))}, "unknown outcome 'maybe'"),
        ({"transitions": TRANSITIONS.with_columns(to_stage=pl.lit("zz"))}, "unknown to_stage"),
        ({"deals": DEALS.filter(pl.col("deal_id") != 8)}, "deal 8 is not in the deals frame"),
        ({"criteria": CRITERIA.with_columns(stage_key=pl.lit("b"))}, "not an exit criterion"),
        ({"criteria": pl.concat([CRITERIA, CRITERIA.head(1)])}, "row repeats"),
        ({"criteria": CRITERIA.with_columns(evidence_level=pl.lit("ceo"))}, "evidence_level"),
        ({"transitions": TRANSITIONS.with_columns(moved_at=None)}, "nulls in moved_at"),
    ],
)
def test_contract_errors(frames, message):
    args = {"deals": DEALS, "transitions": TRANSITIONS, "criteria": CRITERIA, **frames}
    with pytest.raises(EffectivenessInputError, match=message):
        process_effectiveness(small_process(), **args)


def test_amounts_as_decimals_are_accepted():
    from decimal import Decimal

    deals = DEALS.with_columns(pl.Series("amount", [Decimal(str(a)) for a in DEALS["amount"]]))
    r = process_effectiveness(small_process(), deals, TRANSITIONS, CRITERIA, settings=SETTINGS)
    assert math.isclose(r.suggestions[0].affected_amount, 1350.0)


def test_as_json_is_plain_data(result):
    import json

    doc = json.loads(json.dumps(result.as_json()))
    assert doc["criteria"][0]["comparison"]["with"] == {
        "won": 2,
        "n": 3,
        "rate": 2 / 3,
        **dict(zip(("low", "high"), wilson_interval(2, 3), strict=True)),
    }
    assert doc["stages"][2]["lost_reasons"] == [["price", 2]]
    assert doc["suggestions"][0]["change"] == {
        "action": "set_stage_field",
        "stage": "a",
        "field": "max_days",
        "from": 3,
        "to": 6,
    }
    assert doc["suggestions"][0]["params"]["p80"] == pytest.approx(5.2)


def test_a_move_into_the_same_stage_does_not_end_the_visit():
    transitions = pl.DataFrame(
        [
            {"transition_id": 1, "deal_id": 1, "to_stage": "a", "moved_at": day(0)},
            {"transition_id": 2, "deal_id": 1, "to_stage": "a", "moved_at": day(2)},
            {"transition_id": 3, "deal_id": 1, "to_stage": "b", "moved_at": day(5)},
        ]
    )
    v = stage_visits(small_process(), transitions)
    assert v.select("stage_key", "direction", "days").rows() == [
        ("a", "forward", 5),
        ("b", None, None),
    ]
    deals = pl.DataFrame({"deal_id": [1], "outcome": ["open"]})
    r = process_effectiveness(small_process(), deals, transitions)
    assert (r.stages[0].completed_visits, r.stages[0].skip_transitions) == (1, 0)


def test_every_verdict_has_a_message():
    from milepost.engine.process_effectiveness import VERDICT_MESSAGES
    from milepost.engine.process_effectiveness.stats import VERDICTS

    assert set(VERDICT_MESSAGES) == set(VERDICTS)
    params = {"n_with": 3, "n_without": 40, "min_group": 10, "margin": 10}
    assert VERDICT_MESSAGES["too_few"] % params == (
        "Too few deals to tell: 3 on one side and 40 on the other, at least 10 each are needed."
    )


def test_a_process_without_exit_criteria_has_only_stage_figures():
    from milepost.engine.process_schema import ProcessDef
    from milepost.engine.tests.effectiveness_world import _stage

    bare = ProcessDef.model_validate(
        {
            "key": "bare",
            "name": "Bare",
            "stages": [_stage(k, "open") for k in "abc"]
            + [_stage("won", "won"), _stage("lost", "lost")],
        }
    )
    r = process_effectiveness(bare, DEALS, TRANSITIONS)
    assert (r.criteria, [s.visitors for s in r.stages], r.suggestions) == ((), [7, 5, 4], ())


def test_met_at_gate():
    result_json = {
        "policy": "warn",
        "forward": True,
        "met": 1,
        "unmet": [{"stage": "a", "criterion": "a2"}],
        "justification": "signed anyway",
    }
    assert met_at_gate(result_json, ["a1", "a2"]) == {"a1": True, "a2": False}
    assert met_at_gate({**result_json, "forward": False}, ["a1"]) is None
    assert met_at_gate(None, ["a1"]) is None
