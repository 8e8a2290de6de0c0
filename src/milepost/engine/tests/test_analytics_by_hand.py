"""A small pipeline whose every figure is worked out by hand, in the comments next to it.

Process: open stages a → b → c, then won / lost. Every event is at noon UTC, January 2026 is
the period ([Jan 1, Feb 1)), the history is read as of March 1.

    D1  a Jan 1 (100, close Jan 31) → b Jan 11 → c Jan 21 → won Jan 31 (120)
    D2  a Jan 5 (200, close Feb 15) → b Jan 10 → lost Jan 20
    D3  a Jan 8 (50, close Mar 15) → c Jan 20 (a skip); close date → Apr 30 on Jan 25,
        amount → 70 on Jan 28; still open
    D4  a Feb 2 (80, close Mar 1) → b Feb 5                (after the period)
    D5  created straight into b Jan 15 (300, close Feb 10) → won Feb 10
    D6  a Dec 10 (500, close Jan 20); close date → Dec 31 on Jan 12 (out of the window)
    D7  a Dec 1 (40, close Jun 30); close date → Feb 28 on Jan 3 (pulled in),
        amount → 30 on Jan 22
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl
import pytest

from milepost.engine.conversion import (
    TRANSITIONS_SCHEMA,
    StageOrder,
    cohort_conversion,
    funnel,
    lead_funnel,
    ratio,
    win_rate,
)
from milepost.engine.intervals import wilson_interval
from milepost.engine.velocity import buckets, sales_velocity, time_in_stage, velocity_trend
from milepost.engine.waterfall import CHANGES_SCHEMA, waterfall

ORDER = StageOrder(open=("a", "b", "c"), won=("won",), lost=("lost",))
START = datetime(2026, 1, 1, tzinfo=UTC)
END = datetime(2026, 2, 1, tzinfo=UTC)
AS_OF = datetime(2026, 3, 1, tzinfo=UTC)
KIND = {"a": "open", "b": "open", "c": "open", "won": "won", "lost": "lost"}


def at(month: int, day: int, year: int = 2026) -> datetime:
    return datetime(year, month, day, 12, tzinfo=UTC)


def _t(deal, frm, to, moment, amount, close):
    return (deal, frm, to, KIND[to], moment, Decimal(amount), close)


TRANSITIONS = pl.DataFrame(
    [
        _t(1, None, "a", at(1, 1), 100, date(2026, 1, 31)),
        _t(1, "a", "b", at(1, 11), 100, date(2026, 1, 31)),
        _t(1, "b", "c", at(1, 21), 100, date(2026, 1, 31)),
        _t(1, "c", "won", at(1, 31), 120, date(2026, 1, 31)),
        _t(2, None, "a", at(1, 5), 200, date(2026, 2, 15)),
        _t(2, "a", "b", at(1, 10), 200, date(2026, 2, 15)),
        _t(2, "b", "lost", at(1, 20), 200, date(2026, 2, 15)),
        _t(3, None, "a", at(1, 8), 50, date(2026, 3, 15)),
        _t(3, "a", "c", at(1, 20), 50, date(2026, 3, 15)),
        _t(4, None, "a", at(2, 2), 80, date(2026, 3, 1)),
        _t(4, "a", "b", at(2, 5), 80, date(2026, 3, 1)),
        _t(5, None, "b", at(1, 15), 300, date(2026, 2, 10)),
        _t(5, "b", "won", at(2, 10), 300, date(2026, 2, 10)),
        _t(6, None, "a", at(12, 10, 2025), 500, date(2026, 1, 20)),
        _t(7, None, "a", at(12, 1, 2025), 40, date(2026, 6, 30)),
    ],
    schema=TRANSITIONS_SCHEMA,
    orient="row",
)
CHANGES = pl.DataFrame(
    [
        (3, at(1, 25), None, date(2026, 4, 30)),
        (3, at(1, 28), Decimal(70), None),
        (6, at(1, 12), None, date(2025, 12, 31)),
        (7, at(1, 3), None, date(2026, 2, 28)),
        (7, at(1, 22), Decimal(30), None),
    ],
    schema=CHANGES_SCHEMA,
    orient="row",
)


def test_wilson_matches_published_values():
    # Newcombe (1998), table I: 0/10 → 0 to 0.2775; 8/10 → 0.4902 to 0.9433.
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.27753), abs=1e-5)
    assert wilson_interval(8, 10) == pytest.approx((0.49016, 0.94332), abs=1e-5)
    assert ratio(3, 9).too_few
    assert not ratio(3, 10).too_few
    assert ratio(0, 0).value is None


def test_cohort_conversion_by_hand():
    a, b, c = cohort_conversion(TRANSITIONS, ORDER, start=START, end=END, as_of=AS_OF)
    # a: D1, D2, D3 entered in January (D4 in February; D6, D7 in December). All advanced:
    # D1 to b after 10 days, D2 to b after 5, D3 skipped to c after 12: median 10.
    # D1 won (120, 30 days after entering a), D2 lost, D3 open.
    assert (a.entered, a.advanced, a.won, a.lost, a.open) == (3, 3, 1, 1, 1)
    assert a.entered_amount == Decimal("350.00")
    assert a.won_amount == Decimal("120.00")
    assert a.median_days_to_advance == 10
    assert a.median_days_to_win == 30
    assert a.advance_rate.value == 1
    assert a.win_rate.value == pytest.approx(1 / 3)
    assert a.win_rate.too_few  # 3 deals
    # b: D2 (Jan 10), D1 (Jan 11), D5 (Jan 15; created there). D1 advanced to c after 10 days,
    # D5 to won after 26, D2 was lost: 2 advanced, median 18. Won D1 (20 days after entering b)
    # and D5 (26 days): 420, median 23.
    assert (b.entered, b.advanced, b.won, b.lost, b.open) == (3, 2, 2, 1, 0)
    assert b.entered_amount == Decimal("600.00")
    assert b.won_amount == Decimal("420.00")
    assert b.median_days_to_advance == 18
    assert b.median_days_to_win == 23
    # c: D3 (Jan 20), D1 (Jan 21). D1 won 10 days later; D3 is open.
    assert (c.entered, c.advanced, c.won, c.lost, c.open) == (2, 1, 1, 0, 1)
    assert c.median_days_to_advance == 10
    assert c.median_days_to_win == 10


def test_funnel_by_hand():
    steps = funnel(TRANSITIONS, ORDER, start=START, end=END, as_of=AS_OF)
    # Created in January: D1, D2, D3, D5. Furthest reached: D1 won, D2 b, D3 c, D5 won.
    # Amount on the first row reaching each step: a: 100+200+50+300 (D5 reached "a or later"
    # when created in b); b: 100+200+50 (D3's c row)+300; c: 100+50+300 (D5's won row);
    # won: 120+300.
    assert [(s.stage, s.deals, s.amount) for s in steps] == [
        ("a", 4, Decimal("650.00")),
        ("b", 4, Decimal("650.00")),
        ("c", 3, Decimal("450.00")),
        ("won", 2, Decimal("420.00")),
    ]
    assert [s.of_created.value for s in steps] == [1, 1, 0.75, 0.5]
    assert [s.from_previous.value for s in steps] == [1, 1, 0.75, pytest.approx(2 / 3)]
    assert steps[-1].amount_of_created == pytest.approx(420 / 650)


def test_win_rate_by_hand():
    rate = win_rate(TRANSITIONS, ORDER, start=START, end=END, as_of=AS_OF)
    # Closed in January: D1 won (120), D2 lost (200); D5 was won in February.
    assert (rate.won, rate.lost) == (1, 1)
    assert (rate.won_amount, rate.lost_amount) == (Decimal("120.00"), Decimal("200.00"))
    assert rate.by_count.value == 0.5
    assert rate.by_amount == pytest.approx(120 / 320)


def test_time_in_stage_by_hand():
    spreads = time_in_stage(TRANSITIONS, ORDER, start=START, end=END, as_of=AS_OF)
    # a: visits that ended in January: D2 5 days, D1 10, D3 12. Linear quantiles over
    # [5, 10, 12]: p80 at rank 1.6 = 10 + 0.6 x 2 = 11.2; p95 at 1.9 = 11.8.
    a = spreads["a"]
    assert (a.n, a.median, a.p80, a.p95) == (3, 10, pytest.approx(11.2), pytest.approx(11.8))
    # b: D2 (Jan 10 → lost Jan 20) and D1 (Jan 11 → Jan 21); D5 left b in February.
    assert (spreads["b"].n, spreads["b"].median) == (2, 10)
    # c: D1 (Jan 21 → won Jan 31); D3 is still in c.
    assert (spreads["c"].n, spreads["c"].median) == (1, 10)


def test_sales_velocity_by_hand():
    v = sales_velocity(TRANSITIONS, ORDER, start=START, end=END, as_of=AS_OF)
    # Open on Feb 1: D3, D5, D6, D7. Win rate 1/2, average won 120, won cycle D1 30 days:
    # 4 x 0.5 x 120 / 30 = 8 a day. Lost cycle: D2, 15 days.
    assert v.open_deals == 4
    assert v.average_won_amount == Decimal("120.00")
    assert (v.won_cycle.n, v.won_cycle.mean) == (1, 30)
    assert (v.lost_cycle.n, v.lost_cycle.median) == (1, 15)
    assert v.per_day == pytest.approx(8.0)


def test_velocity_trend_by_hand():
    months = velocity_trend(
        TRANSITIONS, ORDER, start=START, end=datetime(2026, 3, 1, tzinfo=UTC), as_of=AS_OF
    )
    assert [m.start.month for m in months] == [1, 2]
    # February: D5 won (300, cycle Jan 15 → Feb 10 = 26 days), nothing lost; open on Mar 1:
    # D3, D4, D6, D7: 4 x 1 x 300 / 26.
    feb = months[1]
    assert (feb.win_rate.won, feb.win_rate.lost, feb.open_deals) == (1, 0, 4)
    assert feb.per_day == pytest.approx(4 * 300 / 26)
    quarters = buckets(
        datetime(2026, 2, 15, tzinfo=UTC), datetime(2026, 8, 1, tzinfo=UTC), "quarter"
    )
    assert [(a.month, a.day, b.month) for a, b in quarters] == [(2, 15, 4), (4, 1, 7), (7, 1, 8)]


def test_waterfall_by_hand():
    w = waterfall(
        TRANSITIONS,
        CHANGES,
        start=START,
        end=END,
        as_of=AS_OF,
        scope_from=date(2026, 1, 1),
        scope_to=date(2026, 3, 31),
    )
    got = {b.key: (b.deals, b.count, b.amount) for b in w.bars}
    # Opening (before Jan 1, close date in Jan 1 .. Mar 31): D6 only (D7 closes in June).
    assert got["opening"] == (1, 1, Decimal("500.00"))
    # Created in January: D1 100, D2 200, D3 50, D5 300.
    assert got["created"] == (4, 4, Decimal("650.00"))
    # D7's close date moved from June into the window.
    assert got["pulled_in"] == (1, 1, Decimal("40.00"))
    # D3's close date moved to April 30 (its later amount change is outside the pipeline).
    assert got["pushed_out"] == (1, -1, Decimal("-50.00"))
    # D1 was won for 120 (from 100): +20, then -120; D7 cut from 40 to 30.
    assert got["increased"] == (1, 0, Decimal("20.00"))
    assert got["decreased"] == (1, 0, Decimal("-10.00"))
    assert got["won"] == (1, -1, Decimal("-120.00"))
    assert got["lost"] == (1, -1, Decimal("-200.00"))
    # D6's close date moved before the window.
    assert got["moved_out"] == (1, -1, Decimal("-500.00"))
    # Closing (before Feb 1): D5 300 and D7 30.
    assert got["closing"] == (2, 2, Decimal("330.00"))
    assert w.reconciles


def test_lead_funnel_by_hand():
    leads = pl.DataFrame(
        {
            "lead_id": [1, 2, 3, 4, 5],
            "created_at": [at(1, 2), at(1, 3), at(1, 4), at(1, 5), at(2, 9)],
            "converted_at": [at(1, 9), at(1, 10), None, at(3, 9), at(2, 10)],
            "outcome": ["won", "lost", None, "won", "won"],
        },
        schema={
            "lead_id": pl.Int64,
            "created_at": pl.Datetime("us", "UTC"),
            "converted_at": pl.Datetime("us", "UTC"),
            "outcome": pl.String,
        },
    )
    # January leads: 1-4. Converted by Mar 1: 1 and 2 (4 converts after as_of). Won: 1.
    f = lead_funnel(leads, start=START, end=END, as_of=AS_OF)
    assert (f.leads, f.converted, f.won) == (4, 2, 1)
    assert f.lead_to_opportunity.value == 0.5
    assert f.opportunity_to_won.value == 0.5
    assert f.lead_to_won.value == 0.25
