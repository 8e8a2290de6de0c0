"""Process effectiveness on random histories: counts add up, intervals hold their estimates,
and the result does not depend on the order of the input rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from milepost.engine.process_effectiveness import (
    CRITERIA_SCHEMA,
    EffectivenessSettings,
    criterion_exit_moments,
    newcombe_interval,
    process_effectiveness,
    wilson_interval,
)
from milepost.engine.tests.effectiveness_world import small_process

T0 = datetime(2026, 1, 1, tzinfo=UTC)
PROCESS = small_process()
STAGES = ["a", "b", "c", "won", "lost"]
SETTINGS = EffectivenessSettings(min_group=2, min_visits=3, margin=0.5)


@st.composite
def histories(draw: st.DrawFn) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    n = draw(st.integers(0, 25))
    deals, transitions = [], []
    tid = 0
    for deal in range(1, n + 1):
        stage = draw(st.sampled_from(["a", "a", "a", "b", "c"]))
        at = T0 + timedelta(hours=draw(st.integers(0, 500)))
        path = [(stage, at)]
        for _ in range(draw(st.integers(0, 6))):
            if stage in ("won", "lost"):
                break
            # 0 hours: two moves at the same moment, ordered by transition id.
            at += timedelta(hours=draw(st.integers(0, 24 * 40)))
            # The same stage again (a process-version change) is allowed: it must not count.
            stage = draw(st.sampled_from(STAGES))
            path.append((stage, at))
        for stage_key, moment in path:
            tid += draw(st.integers(1, 3))
            transitions.append(
                {"transition_id": tid, "deal_id": deal, "to_stage": stage_key, "moved_at": moment}
            )
        final = path[-1][0]
        outcome = final if final in ("won", "lost") else "open"
        deals.append(
            {
                "deal_id": deal,
                "outcome": outcome,
                "lost_reason": draw(st.sampled_from([None, "", "price", "timing"])),
                "amount": float(draw(st.integers(0, 10_000))),
            }
        )
    deal_frame = pl.DataFrame(
        deals,
        schema={
            "deal_id": pl.Int64,
            "outcome": pl.String,
            "lost_reason": pl.String,
            "amount": pl.Float64,
        },
    )
    t_frame = pl.DataFrame(
        transitions,
        schema={
            "transition_id": pl.Int64,
            "deal_id": pl.Int64,
            "to_stage": pl.String,
            "moved_at": pl.Datetime("us", "UTC"),
        },
    )
    rows = []
    for row in criterion_exit_moments(PROCESS, t_frame).iter_rows(named=True):
        if draw(st.integers(0, 9)) == 0:
            continue  # unrecorded
        met = draw(st.booleans())
        first = row["exited_at"] + timedelta(hours=draw(st.integers(-300, 300)))
        rows.append(
            {
                **row,
                "met": met,
                "first_met_at": draw(st.sampled_from([None, first])),
                "waived": (not met) and draw(st.booleans()),
                "evidence_level": draw(st.sampled_from([None, "rep", "manager", "buyer"])),
            }
        )
    c_frame = pl.DataFrame(rows, schema=CRITERIA_SCHEMA)
    return deal_frame, t_frame, c_frame


def result_exits(r, criterion: str) -> int:
    return r.deals.exits.filter(pl.col("criterion_id") == criterion).height


PROPS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(histories())
def test_counts_add_up(history):
    deals, transitions, criteria = history
    r = process_effectiveness(PROCESS, deals, transitions, criteria, settings=SETTINGS)
    moments = criterion_exit_moments(PROCESS, transitions).join(deals, on="deal_id")
    for f in r.criteria:
        closed = moments.filter(
            (pl.col("criterion_id") == f.criterion) & (pl.col("outcome") != "open")
        )
        assert f.exits == closed.height
        assert result_exits(r, f.criterion) == f.exits
        assert f.met + f.not_met + f.unrecorded == f.exits
        assert (f.comparison.with_.n, f.comparison.without.n) == (f.met, f.not_met)
        assert f.met_late <= f.not_met
        assert f.waived <= f.not_met
        assert sum(n for _, n in f.levels) == f.exits
    # Generated paths end at won or lost, so every lost deal was lost from one open stage.
    assert sum(s.lost_here for s in r.stages) == deals.filter(pl.col("outcome") == "lost").height
    for s in r.stages:
        assert s.won + s.lost_here + s.lost_elsewhere == s.closed <= s.visitors
        assert sum(n for _, n in s.lost_reasons) == s.lost_here
        assert s.skippers <= s.skip_transitions
        assert s.skippers <= s.passers
        assert s.lost_after <= s.lost_elsewhere
        assert s.skip_comparison.n <= deals.filter(pl.col("outcome") != "open").height
        if s.over_max is not None:
            assert s.over_max <= s.completed_visits


@PROPS
@given(histories())
def test_intervals_contain_their_estimates(history):
    r = process_effectiveness(PROCESS, *history, settings=SETTINGS)
    comparisons = [f.comparison for f in r.criteria] + [s.skip_comparison for s in r.stages]
    for c in comparisons:
        for rate in (c.with_, c.without):
            assert 0 <= rate.low <= (rate.rate if rate.rate is not None else rate.low)
            assert (rate.rate if rate.rate is not None else rate.high) <= rate.high <= 1
        if c.difference is not None:
            assert -1 <= c.low <= c.difference <= c.high <= 1
    for s in r.stages:
        if s.loss_here.rate is not None:
            assert s.loss_here.low <= s.loss_here.rate <= s.loss_here.high


@PROPS
@given(histories(), st.randoms(use_true_random=False))
def test_same_result_whatever_the_row_order(history, rnd):
    deals, transitions, criteria = history
    first = process_effectiveness(PROCESS, deals, transitions, criteria, settings=SETTINGS)

    def shuffled(frame: pl.DataFrame) -> pl.DataFrame:
        order = list(range(frame.height))
        rnd.shuffle(order)
        return frame[order] if order else frame

    again = process_effectiveness(
        PROCESS, shuffled(deals), shuffled(transitions), shuffled(criteria), settings=SETTINGS
    )
    assert again == first
    for name in ("exits", "visitors", "passed"):
        assert getattr(again.deals, name).equals(getattr(first.deals, name))
    assert [s.change.as_json() for s in again.suggestions] == [
        s.change.as_json() for s in first.suggestions
    ]


@given(st.integers(0, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_contains_the_rate(won_n):
    won, n = won_n
    low, high = wilson_interval(won, n)
    assert 0 <= low <= high <= 1
    if n:
        assert low <= won / n <= high


pairs = st.integers(1, 300).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n)))


@given(pairs, pairs)
def test_newcombe_contains_the_difference(a, b):
    low, high = newcombe_interval(*a, *b)
    d = a[0] / a[1] - b[0] / b[1]
    assert -1 <= low <= d <= high <= 1
