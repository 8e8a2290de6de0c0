"""Coaching effect: discussed deals vs similar undiscussed ones (same week, stage, risk band),
and indicator rates before/after a competency was coached. Table-driven, no database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from milepost.engine.coaching_effect import (
    CAVEAT,
    COACHED_SCHEMA,
    DISCUSSED_SCHEMA,
    MET_SCHEMA,
    PERIOD_HITS_SCHEMA,
    STATES_SCHEMA,
    competency_effect,
    deal_effect,
    risk_band,
    week_start,
)

W1 = date(2026, 1, 5)  # a Monday
W2 = W1 + timedelta(days=7)
TUE = datetime(2026, 1, 6, 10, tzinfo=UTC)  # in W1
THU = datetime(2026, 1, 8, tzinfo=UTC)  # the undiscussed deals' anchor in W1
AS_OF = datetime(2026, 3, 1, tzinfo=UTC)


def _f(rows, schema):
    return pl.DataFrame(rows, schema=schema, orient="row")


def _states(*rows):
    return _f(list(rows), STATES_SCHEMA)


def _met(*rows):
    return _f(list(rows), MET_SCHEMA)


# (name, discussed, states, met, follow_days, expected)
# expected: discussed per_deal, similar per_deal, discussed exposures, similar exposures,
# unmatched, censored
CASES = [
    (
        "criterion met after the 1:1 counts; similar deals average theirs",
        [(1, TUE)],
        [(1, W1, "evaluate", "high"), (2, W1, "evaluate", "high"), (3, W1, "evaluate", "high")],
        [(1, "c1", TUE + timedelta(days=3)), (2, "c1", THU + timedelta(days=2))],
        14,
        (1.0, 0.5, 1, 2, 0, 0),
    ),
    (
        "a criterion met before the 1:1 does not count",
        [(1, TUE)],
        [(1, W1, "evaluate", "high"), (2, W1, "evaluate", "high")],
        [(1, "c1", TUE - timedelta(hours=1))],
        14,
        (0.0, 0.0, 1, 1, 0, 0),
    ),
    (
        "a criterion met after the follow-up window does not count",
        [(1, TUE)],
        [(1, W1, "evaluate", "high"), (2, W1, "evaluate", "high")],
        [(1, "c1", TUE + timedelta(days=15)), (2, "c1", THU + timedelta(days=13))],
        14,
        (0.0, 1.0, 1, 1, 0, 0),
    ),
    (
        "the same criterion met twice counts once; two criteria count two",
        [(1, TUE)],
        [(1, W1, "evaluate", "low"), (2, W1, "evaluate", "low")],
        [
            (1, "c1", TUE + timedelta(days=1)),
            (1, "c1", TUE + timedelta(days=2)),
            (1, "c2", TUE + timedelta(days=2)),
        ],
        14,
        (2.0, 0.0, 1, 1, 0, 0),
    ),
    (
        "no similar deal (other stage or band) leaves the discussed deal unmatched",
        [(1, TUE)],
        [(1, W1, "evaluate", "high"), (2, W1, "discover", "high"), (3, W1, "evaluate", "low")],
        [(1, "c1", TUE + timedelta(days=1))],
        14,
        (0.0, 0.0, 0, 0, 1, 0),
    ),
    (
        "a deal discussed the week before is not a similar undiscussed deal",
        [(1, TUE + timedelta(days=7)), (2, TUE)],
        [(1, W2, "evaluate", "high"), (2, W2, "evaluate", "high"), (3, W2, "evaluate", "high")],
        [(2, "c1", THU + timedelta(days=8))],
        14,
        # deal 2's own week (W1) has no state row: unmatched; deal 3 is the only control
        (0.0, 0.0, 1, 1, 1, 0),
    ),
    (
        "a follow-up window not over yet is censored",
        [(1, AS_OF - timedelta(days=3))],
        [(1, week_start((AS_OF - timedelta(days=3)).date()), "evaluate", "high")],
        [],
        14,
        (0.0, 0.0, 0, 0, 0, 1),
    ),
    (
        "only the first discussion of a deal counts",
        [(1, TUE), (1, TUE + timedelta(days=7))],
        [(1, W1, "evaluate", "high"), (2, W1, "evaluate", "high")],
        [(1, "c1", TUE + timedelta(days=8))],
        7,
        (0.0, 0.0, 1, 1, 0, 0),
    ),
]


@pytest.mark.parametrize(
    ("discussed", "states", "met", "follow", "expected"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_deal_effect(discussed, states, met, follow, expected):
    effect = deal_effect(
        _f(discussed, DISCUSSED_SCHEMA),
        _states(*states),
        _met(*met),
        follow_days=follow,
        as_of=AS_OF,
    )
    got = (
        effect.discussed.per_deal,
        effect.similar.per_deal,
        effect.discussed.exposures,
        effect.similar.exposures,
        effect.unmatched,
        effect.censored,
    )
    assert got == pytest.approx(expected)
    assert effect.caveat == CAVEAT
    assert "Observational" in CAVEAT


def test_similar_rate_is_standardised_to_the_discussed_mix():
    # Discussed: 3 high-risk deals, 1 low-risk. Undiscussed: high-risk ones meet 0, low 2 each,
    # and there are many more low-risk ones. A raw average of the undiscussed (mostly low, 2 each)
    # would be ~1.8; weighted by the discussed mix it is (3 * 0 + 1 * 2) / 4 = 0.5.
    discussed = [(i, TUE) for i in (1, 2, 3, 4)]
    states = [(i, W1, "evaluate", "high") for i in (1, 2, 3)] + [(4, W1, "evaluate", "low")]
    states += [(10, W1, "evaluate", "high")] + [(20 + i, W1, "evaluate", "low") for i in range(9)]
    met = [(20 + i, k, THU + timedelta(days=1)) for i in range(9) for k in ("a", "b")]
    effect = deal_effect(
        _f(discussed, DISCUSSED_SCHEMA),
        _states(*states),
        _met(*met),
        follow_days=14,
        as_of=AS_OF,
    )
    assert effect.similar.per_deal == pytest.approx(0.5)
    assert effect.similar.share_with_any == pytest.approx(0.25)
    assert effect.similar.exposures == 10
    assert effect.similar.criteria_met == 18
    assert effect.strata == 2
    assert effect.difference == pytest.approx(-0.5)


@pytest.mark.parametrize(("flags", "band"), [(-1, "low"), (0, "low"), (1, "medium"), (5, "high")])
def test_risk_band(flags, band):
    assert risk_band(flags) == band


P = 14
PERIODS = [W1 + timedelta(days=P * i) for i in range(4)]  # coaching falls in period 2


def _hits(owner: int, period: int, hits: int, deals: int, indicator: str = "no_next"):
    return [
        (PERIODS[period], 1000 * owner + 10 * period + d, owner, indicator, True, d < hits)
        for d in range(deals)
    ]


def test_competency_effect_before_after_and_team():
    coached_at = datetime.combine(PERIODS[2] + timedelta(days=3), datetime.min.time(), UTC)
    rows = []
    rows += _hits(1, 0, 3, 4) + _hits(1, 1, 3, 4)  # before: 6/8
    rows += _hits(1, 2, 4, 4)  # the period of the coaching: left out
    rows += _hits(1, 3, 1, 4)  # after: 1/4
    rows += _hits(2, 0, 1, 4) + _hits(2, 3, 1, 4)  # untouched teammate: 1/4 -> 1/4
    rows += _hits(3, 0, 4, 4) + _hits(3, 3, 0, 4)  # coached on it too: not "the team"
    rows += _hits(1, 3, 4, 4, indicator="unlinked")  # an indicator not linked: ignored
    rows += [(PERIODS[3], 9999, 1, "no_next", False, False)]  # not applicable: ignored
    coached = pl.DataFrame(
        [
            (1, "call_planning", coached_at),
            (1, "call_planning", coached_at + timedelta(days=20)),
            (3, "call_planning", coached_at),
            (1, "objection_handling", coached_at),
        ],
        schema=COACHED_SCHEMA,
        orient="row",
    )
    effects = competency_effect(
        coached,
        pl.DataFrame(rows, schema=PERIOD_HITS_SCHEMA, orient="row"),
        {"no_next": ["call_planning"], "unlinked": ["disarming"]},
        period_days=P,
    )
    by = {(e.rep_id, e.competency): e for e in effects}
    assert set(by) == {(1, "call_planning"), (3, "call_planning")}  # objection: no indicator
    e = by[(1, "call_planning")]
    assert e.coached_on == coached_at.date()
    assert (e.before_hits, e.before_deals, e.after_hits, e.after_deals) == (6, 8, 1, 4)
    assert e.change == pytest.approx(0.25 - 0.75)
    assert (e.team_before_hits, e.team_before_deals) == (1, 4)
    assert (e.team_after_hits, e.team_after_deals) == (1, 4)
    assert e.team_change == pytest.approx(0.0)
    assert by[(3, "call_planning")].change == pytest.approx(-1.0)


def test_competency_effect_without_periods_after_has_no_change():
    coached_at = datetime.combine(PERIODS[3] + timedelta(days=1), datetime.min.time(), UTC)
    effects = competency_effect(
        pl.DataFrame([(1, "call_planning", coached_at)], schema=COACHED_SCHEMA, orient="row"),
        pl.DataFrame(_hits(1, 0, 1, 2), schema=PERIOD_HITS_SCHEMA, orient="row"),
        {"no_next": ["call_planning"]},
        period_days=P,
    )
    assert len(effects) == 1
    assert effects[0].after_rate is None
    assert effects[0].change is None
    assert effects[0].before_rate == pytest.approx(0.5)
