"""Properties of the analytics maths on random and simulated histories.

- The waterfall reconciles exactly (opening + flows = closing, by count and amount) on any
  random history of moves and edits, and its opening and closing pipelines are the deals a
  plain per-deal replay finds in the pipeline at those moments.
- On a large history simulated by :mod:`milepost.engine.history` (which knows its true move
  probabilities and times in stage), cohort conversion, the funnel and time in stage come back
  within their Wilson intervals of the truth, for the shipped parameter file and a perturbed
  one. The truth is computed here from the parameters (absorption probabilities of the Markov
  chain), not by the code under test. Several dozen intervals are checked, so they are
  widened to z = 4 (a false alarm about 1 in 16,000 per check; the seed is fixed anyway); the
  headline win rate is also checked against the engine's own 95% interval.
"""

from __future__ import annotations

import copy
import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
import polars as pl
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from milepost.engine.conversion import (
    TRANSITIONS_SCHEMA,
    StageOrder,
    cohort_conversion,
    funnel,
    history,
)
from milepost.engine.history import (
    ADVANCE,
    BACK,
    DEFAULT_PARAMS_FILE,
    LOST,
    SKIP,
    HistoryParams,
    params_from_dict,
    simulate,
)
from milepost.engine.intervals import wilson_interval
from milepost.engine.velocity import open_at, open_counts, visits
from milepost.engine.waterfall import CHANGES_SCHEMA, FLOWS, waterfall, waterfall_flows

BASE = datetime(2026, 1, 1, tzinfo=UTC)
ORDER = StageOrder(open=("a", "b", "c"), won=("won",), lost=("lost",))
KIND = {"a": "open", "b": "open", "c": "open", "won": "won", "lost": "lost"}

# ---------------------------------------------------------------------------------------------
# The waterfall on random histories

_event = st.one_of(
    st.tuples(
        st.just("move"),
        st.integers(0, 90),  # day
        st.sampled_from(["a", "b", "c", "won", "lost"]),
        st.integers(0, 5_000),  # amount
        st.integers(-40, 120),  # close date offset
    ),
    st.tuples(
        st.just("edit"),
        st.integers(0, 90),
        st.none() | st.integers(0, 5_000),
        st.none() | st.integers(-40, 120),
    ),
)


def _frames(deals: list[list[tuple]]) -> tuple[pl.DataFrame, pl.DataFrame]:
    moves, edits = [], []
    for deal, events in enumerate(deals):
        previous = None
        for event in sorted(events, key=lambda e: e[1]):
            moment = BASE + timedelta(days=event[1], hours=deal % 5)
            if event[0] == "move":
                _, _, stage, amount, offset = event
                moves.append(
                    (
                        deal,
                        previous,
                        stage,
                        KIND[stage],
                        moment,
                        Decimal(amount),
                        date(2026, 1, 1) + timedelta(days=offset),
                    )
                )
                previous = stage
            else:
                _, _, amount, offset = event
                close = None if offset is None else date(2026, 1, 1) + timedelta(days=offset)
                edits.append((deal, moment, None if amount is None else Decimal(amount), close))
    transitions = pl.DataFrame(moves, schema=TRANSITIONS_SCHEMA, orient="row")
    changes = pl.DataFrame(edits, schema=CHANGES_SCHEMA, orient="row")
    return transitions, changes


def _replay(transitions, changes, moment, scope):
    """The pipeline just before ``moment``, by a plain per-deal replay (no Polars)."""
    events = [(r[0], r[4], 0, i, r[3], r[5], r[6]) for i, r in enumerate(transitions.rows())]
    events += [(r[0], r[1], 1, i, None, r[2], r[3]) for i, r in enumerate(changes.rows())]
    state: dict[int, list] = {}
    for deal, at, _, _, kind, amount, close in sorted(events, key=lambda e: e[:4]):
        if at >= moment:
            continue
        current = state.setdefault(deal, [None, None, None])
        for slot, value in enumerate((kind, amount, close)):
            if value is not None:
                current[slot] = value
    lo, hi = scope
    return {
        deal: amount
        for deal, (kind, amount, close) in state.items()
        if kind == "open"
        and amount is not None
        and close is not None
        and (lo is None or close >= lo)
        and (hi is None or close <= hi)
    }


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    deals=st.lists(st.lists(_event, min_size=1, max_size=8), min_size=0, max_size=12),
    start_day=st.integers(0, 60),
    length=st.integers(1, 60),
    scope=st.tuples(st.none() | st.integers(-20, 60), st.none() | st.integers(0, 120)),
)
def test_waterfall_reconciles_on_random_histories(deals, start_day, length, scope):
    transitions, changes = _frames(deals)
    start = BASE + timedelta(days=start_day, hours=2)
    end = start + timedelta(days=length)
    lo = None if scope[0] is None else date(2026, 1, 1) + timedelta(days=scope[0])
    hi = None if scope[1] is None else date(2026, 1, 1) + timedelta(days=scope[1])
    as_of = BASE + timedelta(days=200)
    w = waterfall(
        transitions, changes, start=start, end=end, as_of=as_of, scope_from=lo, scope_to=hi
    )
    assert w.reconciles
    opening, closing = w.bar("opening"), w.bar("closing")
    flows = [w.bar(k) for k in FLOWS]
    assert opening.count + sum(b.count for b in flows) == closing.count
    assert opening.amount + sum(b.amount for b in flows) == closing.amount
    before = _replay(transitions, changes, start, (lo, hi))
    after = _replay(transitions, changes, end, (lo, hi))
    assert (opening.count, opening.amount) == (len(before), sum(before.values(), Decimal(0)))
    assert (closing.count, closing.amount) == (len(after), sum(after.values(), Decimal(0)))
    # Signs: what enters adds, what leaves takes away.
    _, rows, _ = waterfall_flows(
        transitions, changes, start=start, end=end, as_of=as_of, scope_from=lo, scope_to=hi
    )
    for flow, count, amount in rows.select("flow", "count", "amount").iter_rows():
        assert count == {"created": 1, "pulled_in": 1, "increased": 0, "decreased": 0}.get(flow, -1)
        if flow in ("increased",):
            assert amount > 0
        if flow in ("decreased",):
            assert amount < 0


# ---------------------------------------------------------------------------------------------
# Recovering the generator's truth

DOC = yaml.safe_load(DEFAULT_PARAMS_FILE.read_text())


def _perturbed() -> dict:
    doc = copy.deepcopy(DOC)
    doc["stages"]["engage"] = {"advance": 0.55, "skip": 0.15, "back": 0.0, "lost": 0.30}
    doc["stages"]["evaluate"] = {"advance": 0.50, "skip": 0.10, "back": 0.25, "lost": 0.15}
    doc["time_in_stage"]["discover"] = {"median_days": 40, "sigma": 0.3}
    doc["time_in_stage"]["justify"] = {"median_days": 3, "sigma": 1.0}
    return doc


PARAM_SETS = {"shipped": DOC, "perturbed": _perturbed()}
Z_WIDE = 4.0
N_DEALS = 40_000


def _absorbing(p: HistoryParams) -> tuple[np.ndarray, np.ndarray]:
    """The chain's transient-to-transient matrix Q (K x K) and the one-step chance of won."""
    k = p.n_open
    q = np.zeros((k, k))
    won = np.zeros(k)
    for s in range(k):
        for move, step in ((ADVANCE, 1), (SKIP, 2), (BACK, -1)):
            target = s + step
            if target >= k:
                won[s] += p.moves[s, move]
            elif p.moves[s, move]:
                q[s, target] += p.moves[s, move]
        assert p.moves[s, LOST] >= 0
    return q, won


def true_win_chance(p: HistoryParams) -> np.ndarray:
    """P(won eventually | in open stage s), for every s."""
    q, won = _absorbing(p)
    return np.linalg.solve(np.eye(p.n_open) - q, won)


def true_advance_chance(p: HistoryParams, s: int) -> float:
    """P(reach a stage beyond s, or won, before being lost | just entered s)."""
    q, won = _absorbing(p)
    k = p.n_open
    beyond = won + q[:, s + 1 :].sum(axis=1) if s + 1 < k else won.copy()
    inner = q[: s + 1, : s + 1]
    h = np.linalg.solve(np.eye(s + 1) - inner, beyond[: s + 1])
    return float(h[s])


def _within(successes: int, n: int, truth: float, z: float = Z_WIDE) -> bool:
    low, high = wilson_interval(successes, n, z)
    return low <= truth <= high


@pytest.fixture(scope="module", params=sorted(PARAM_SETS))
def simulated(request):
    """A large uncensored history: every deal created on day one, run to its end."""
    params = params_from_dict(PARAM_SETS[request.param])
    h = simulate(
        N_DEALS,
        11,
        "2020-01-01",
        "2040-01-01",
        params,
        created_until="2020-01-02",
        activities=False,
    )
    frame = h.transitions_frame()
    kinds = dict.fromkeys(params.stages, "open") | {params.won: "won", params.lost: "lost"}
    transitions = frame.select(
        pl.col("opportunity").cast(pl.Int64).alias("opportunity_id"),
        "from_stage",
        "to_stage",
        pl.col("to_stage").replace_strict(kinds).alias("to_kind"),
        pl.col("moved_at").dt.cast_time_unit("us").dt.replace_time_zone("UTC"),
        pl.lit(Decimal("1.00")).cast(pl.Decimal(38, 2)).alias("amount"),
        pl.lit(date(2040, 1, 1)).alias("close_date"),
    )
    order = StageOrder(open=params.stages, won=(params.won,), lost=(params.lost,))
    return params, order, transitions


WHOLE = {
    "start": datetime(2019, 1, 1, tzinfo=UTC),
    "end": datetime(2041, 1, 1, tzinfo=UTC),
    "as_of": datetime(2041, 1, 1, tzinfo=UTC),
}


def test_funnel_win_rate_recovers_the_chain(simulated):
    params, order, transitions = simulated
    steps = funnel(transitions, order, **WHOLE)
    won = steps[-1]
    truth = float(true_win_chance(params)[0])
    assert won.of_created.n == N_DEALS
    assert won.of_created.low <= truth <= won.of_created.high  # the engine's own 95% interval
    assert won.of_created.high - won.of_created.low < 0.02


def test_cohort_conversion_recovers_the_chain(simulated):
    params, order, transitions = simulated
    cohorts = cohort_conversion(transitions, order, **WHOLE)
    win = true_win_chance(params)
    for s, cohort in enumerate(cohorts):
        assert cohort.open == 0  # uncensored: every deal ended
        assert cohort.won + cohort.lost == cohort.entered
        assert cohort.entered > 1_000, cohort.stage
        assert _within(cohort.won, cohort.entered, float(win[s])), cohort.stage
        truth = true_advance_chance(params, s)
        assert _within(cohort.advanced, cohort.entered, truth), (cohort.stage, truth)


def test_time_in_stage_recovers_the_lognormal(simulated):
    """For each stage, the share of visits shorter than the true median (p80) is within its
    interval of 1/2 (0.8): a distribution-free check of the quantiles the page shows."""
    params, order, transitions = simulated
    done = visits(history(transitions, order, WHOLE["as_of"]))
    for s, stage in enumerate(params.stages):
        days = done.filter(pl.col("stage") == stage)["days"].to_numpy()
        median = float(params.dwell_median_days[s])
        p80 = median * math.exp(float(params.dwell_sigma[s]) * 0.8416212335729143)
        n = days.size
        assert n > 1_000
        assert _within(int((days <= median).sum()), n, 0.5), stage
        assert _within(int((days <= p80).sum()), n, 0.8), stage


def test_open_counts_in_one_pass_agree_with_the_state_at_each_moment(simulated):
    _params, order, transitions = simulated
    hist = history(transitions, order, WHOLE["as_of"])
    moments = [datetime(2020, 1, 1, tzinfo=UTC) + timedelta(days=d) for d in (0, 1, 9, 30, 90, 400)]
    counts = open_counts(hist, moments)
    assert counts == [open_at(hist, m).height for m in moments]
    assert counts[2] > 1_000
