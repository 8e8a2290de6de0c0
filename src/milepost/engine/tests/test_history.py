"""The synthetic history generator: determinism, invariants, and recovery of the true parameters.

The recovery tests simulate without censoring (every deal created in the first day, horizon 20
years later) so every stage visit ends in a move; empirical frequencies and medians are then
compared with the parameter file within 5 standard errors (a false alarm is ~1 in 10^6 per
check; the seed is fixed anyway). A generator that ignored the parameters would miss by far
more, and the perturbed parameter set proves the parameters are actually read.
"""

from __future__ import annotations

import copy
import math
from datetime import date

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from milepost.engine.history import (
    ADVANCE,
    BACK,
    DEFAULT_PARAMS_FILE,
    LOST,
    SKIP,
    WEEK,
    DealShaping,
    History,
    ParamsInvalid,
    fit_histories,
    load_params,
    params_from_dict,
    simulate,
)

DOC = yaml.safe_load(DEFAULT_PARAMS_FILE.read_text())
PARAMS = params_from_dict(DOC)
K = PARAMS.n_open
Z = 5.0  # standard errors allowed


def _perturbed() -> dict:
    doc = copy.deepcopy(DOC)
    doc["stages"]["engage"] = {"advance": 0.45, "skip": 0.15, "back": 0.0, "lost": 0.40}
    doc["stages"]["evaluate"] = {"advance": 0.50, "skip": 0.10, "back": 0.25, "lost": 0.15}
    doc["time_in_stage"]["discover"] = {"median_days": 40, "sigma": 0.3}
    doc["activities_per_week"]["evaluate"]["demo"] = 2.5
    doc["contacts"]["role_mix"] = dict.fromkeys(DOC["contacts"]["role_mix"], 1 / 7)
    return doc


PARAM_SETS = {"shipped": DOC, "perturbed": _perturbed()}


@pytest.fixture(scope="module", params=sorted(PARAM_SETS))
def uncensored(request):
    params = params_from_dict(PARAM_SETS[request.param])
    history = simulate(50_000, 7, "2020-01-01", "2040-01-01", params, created_until="2020-01-02")
    return params, history


def _move_kind(frm: np.ndarray, to: np.ndarray) -> np.ndarray:
    kind = np.full(frm.shape, -1)
    kind[to == frm + 1] = ADVANCE
    kind[to == frm + 2] = SKIP
    kind[to == frm - 1] = BACK
    kind[to == K + 1] = LOST
    return kind


def test_params_file_is_valid_and_matches_process_stages():
    params = load_params()
    assert params.stages == ("engage", "discover", "commit", "evaluate", "justify", "negotiate")
    assert np.allclose(params.moves.sum(axis=1), 1.0)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("stages", "engage", "lost"), 0.5, "sum to 1"),
        (("stages", "engage", "back"), 0.0, None),  # still valid
        (("stages", "negotiate", "skip"), 0.01, None),  # fixed below to sum to 1
        (("time_in_stage", "commit", "sigma"), -1, "positive"),
        (("contacts", "role_mix", "champion"), 0.9, "sum to 1"),
    ],
)
def test_invalid_params_are_refused(path, value, message):
    doc = copy.deepcopy(DOC)
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    if path == ("stages", "negotiate", "skip"):
        node["advance"] -= value
        message = "cannot skip"
    if message is None:
        params_from_dict(doc)
        return
    with pytest.raises(ParamsInvalid, match=message):
        params_from_dict(doc)


def test_simulate_is_deterministic_per_seed():
    a = simulate(3_000, 1, "2020-01-01", "2021-01-01", PARAMS)
    b = simulate(3_000, 1, "2020-01-01", "2021-01-01", PARAMS)
    c = simulate(3_000, 2, "2020-01-01", "2021-01-01", PARAMS)
    for name in ("t_opp", "t_to", "t_at", "a_at", "a_type", "c_role"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert not np.array_equal(a.t_at[: c.t_at.size], c.t_at[: a.t_at.size])


def test_simulate_chunks_are_numbered_consistently():
    whole = simulate(2_500, 4, "2020-01-01", "2021-01-01", PARAMS, chunk_size=1_000)
    assert whole.n == 2_500
    assert whole.t_opp.max() == 2_499
    assert np.all(np.diff(whole.t_opp) >= 0)
    assert np.bincount(whole.t_opp[whole.t_from == -1]).max() == 1


def test_simulated_paths_obey_the_process():
    h = simulate(20_000, 3, "2020-01-01", "2020-12-31", PARAMS)
    moves = h.t_from >= 0
    assert (_move_kind(h.t_from[moves], h.t_to[moves]) >= 0).all()
    assert not (h.t_from[moves] >= K).any(), "nothing leaves a closed stage"
    same = h.t_opp[1:] == h.t_opp[:-1]
    assert (h.t_at[1:][same] >= h.t_at[:-1][same]).all()
    assert (h.t_at <= np.datetime64("2020-12-31T00:00:00")).all()
    secs = (h.t_at[1:] - h.t_at[:-1]).astype(np.int64)
    assert np.array_equal(h.t_seconds[1:][same], secs[same])
    # activities lie inside their visit: after creation, before the horizon
    created = h.created_at[h.a_opp]
    assert (h.a_at >= created).all()
    assert (h.a_at <= np.datetime64("2020-12-31")).all()


def test_million_opportunities_scale():
    # Vectorised per step: a million deals (transitions only) in a few seconds.
    h = simulate(1_000_000, 11, "2020-01-01", "2021-01-01", PARAMS, activities=False)
    assert h.n == 1_000_000
    assert h.t_opp.size > 3_000_000


def test_recovers_transition_probabilities(uncensored):
    params, h = uncensored
    moves = h.t_from >= 0
    frm, kind = h.t_from[moves], _move_kind(h.t_from[moves], h.t_to[moves])
    for s in range(K):
        exits = kind[frm == s]
        n = exits.size
        assert n > 2_000
        for m in (ADVANCE, SKIP, BACK, LOST):
            p = params.moves[s, m]
            observed = (exits == m).mean()
            se = math.sqrt(max(p * (1 - p), 1e-12) / n)
            assert abs(observed - p) <= Z * se + 1e-9, (params.stages[s], m, observed, p)


def test_recovers_median_time_in_stage(uncensored):
    params, h = uncensored
    moves = h.t_from >= 0
    for s in range(K):
        days = h.t_seconds[moves][h.t_from[moves] == s] / 86_400
        median, sigma = params.dwell_median_days[s], params.dwell_sigma[s]
        # Asymptotic s.e. of a lognormal sample median: m * sigma * sqrt(pi / 2) / sqrt(n).
        se = median * sigma * math.sqrt(math.pi / 2) / math.sqrt(days.size)
        assert abs(np.median(days) - median) <= Z * se, (params.stages[s], np.median(days))


def test_recovers_activity_rates(uncensored):
    params, h = uncensored
    moves = h.t_from >= 0
    regular = ~h.a_milestone
    for s in range(K):
        exposure_weeks = h.t_seconds[moves][h.t_from[moves] == s].sum() / WEEK
        for t, rate in enumerate(params.activity_rates[s]):
            count = int(((h.a_stage == s) & (h.a_type == t) & regular).sum())
            expected = rate * exposure_weeks
            assert abs(count - expected) <= Z * math.sqrt(max(expected, 1.0)), (s, t)
    # milestones: exactly one per forward exit of a stage that has one
    for s in np.flatnonzero(params.milestones >= 0):
        forward = int(((h.t_from == s) & (h.t_to > s) & (h.t_to <= K)).sum())
        assert int(((h.a_stage == s) & h.a_milestone).sum()) == forward


def test_recovers_contact_mix(uncensored):
    params, h = uncensored
    counts = np.bincount(h.c_opp, minlength=h.n)
    lam, cap = params.contacts_mean - 1, params.contacts_max
    pmf = [math.exp(-lam) * lam**j / math.factorial(j) for j in range(cap - 1)]
    expected = sum((j + 1) * q for j, q in enumerate(pmf)) + cap * (1 - sum(pmf))
    assert abs(counts.mean() - expected) <= Z * counts.std() / math.sqrt(h.n)
    assert counts.min() >= 1
    assert counts.max() <= cap
    free = h.c_slot >= len(params.leading_roles)
    roles = h.c_role[free]
    for r, p in enumerate(params.role_probs):
        se = math.sqrt(max(p * (1 - p), 1e-12) / roles.size)
        assert abs((roles == r).mean() - p) <= Z * se + 1e-9


# ---------------------------------------------------------------------------------------------
# Fitting paths to real outcomes

AS_OF = date(2017, 12, 31)


def _real_like(n: int, seed: int):
    rng = np.random.default_rng(seed)
    outcome = rng.choice(["won", "lost", "open", "prospecting"], size=n, p=[0.5, 0.3, 0.15, 0.05])
    engage = np.datetime64("2016-10-20") + rng.integers(0, 300, n).astype("timedelta64[D]")
    close = engage + rng.integers(0, 139, n).astype("timedelta64[D]")
    close = np.minimum(close, np.datetime64("2017-12-31"))
    closed = np.isin(outcome, ["won", "lost"])
    close = np.where(closed, close, np.datetime64("NaT"))
    engage = np.where(outcome == "prospecting", np.datetime64("NaT"), engage)
    return outcome, engage, close


def _check_fit(outcome, engage, close, h) -> None:
    n = len(outcome)
    starts = np.flatnonzero(h.t_from == -1)
    assert np.array_equal(h.t_opp[starts], np.arange(n))
    ends = np.r_[starts[1:] - 1, h.t_opp.size - 1]
    # first stage at engage date; moves only advance / skip / back / lost; time never decreases
    assert (h.t_to[starts] == 0).all()
    has_engage = ~np.isnat(engage)
    assert np.array_equal(h.t_at[starts][has_engage].astype("datetime64[D]"), engage[has_engage])
    moves = h.t_from >= 0
    assert (_move_kind(h.t_from[moves], h.t_to[moves]) >= 0).all()
    same = h.t_opp[1:] == h.t_opp[:-1]
    assert (h.t_at[1:][same] >= h.t_at[:-1][same]).all()
    last_to, last_at = h.t_to[ends], h.t_at[ends].astype("datetime64[D]")
    won, lost = outcome == "won", outcome == "lost"
    assert (last_to[won] == K).all()
    assert np.array_equal(last_at[won], close[won])
    assert (last_to[lost] == K + 1).all()
    assert np.array_equal(last_at[lost], close[lost])
    is_open = outcome == "open"
    assert ((last_to[is_open] >= 1) & (last_to[is_open] < K)).all()
    assert (last_at <= np.datetime64(AS_OF)).all()
    prospect = outcome == "prospecting"
    assert (ends[prospect] == starts[prospect]).all()
    assert np.array_equal(h.final_stage, last_to)
    # activities inside the life of the deal
    assert (h.a_at >= h.created_at[h.a_opp]).all()
    life_end = np.where(won | lost, h.stage_entered_at, np.datetime64(AS_OF) + 1)
    assert (h.a_at <= life_end[h.a_opp]).all()


def test_fit_is_consistent_with_outcomes_and_dates():
    outcome, engage, close = _real_like(5_000, 1)
    h = fit_histories(outcome, engage, close, AS_OF, seed=9)
    _check_fit(outcome, engage, close, h)
    # won deals pass every open stage unless they skipped one
    won_rows = np.isin(h.t_opp, np.flatnonzero(outcome == "won"))
    assert set(np.unique(h.t_to[won_rows])) == {*range(K), K}


def test_fit_is_deterministic_per_seed():
    outcome, engage, close = _real_like(500, 2)
    a = fit_histories(outcome, engage, close, AS_OF, seed=1)
    b = fit_histories(outcome, engage, close, AS_OF, seed=1)
    c = fit_histories(outcome, engage, close, AS_OF, seed=2)
    assert np.array_equal(a.t_at, b.t_at)
    assert np.array_equal(a.a_at, b.a_at)
    assert not (a.t_at.size == c.t_at.size and np.array_equal(a.t_at, c.t_at))


def test_fit_lost_stage_follows_cycle_length():
    n = 4_000
    outcome = np.array(["lost"] * n)
    engage = np.full(n, np.datetime64("2017-01-02"))
    short = fit_histories(outcome, engage, engage + 1, AS_OF, seed=3)
    long = fit_histories(outcome, engage, engage + 120, AS_OF, seed=3)
    lost_from = lambda h: h.t_from[h.t_to == K + 1].mean()  # noqa: E731
    assert lost_from(short) < 1.5 < 3.0 < lost_from(long)


def test_fit_refuses_contradictory_dates():
    with pytest.raises(ValueError, match="before its engage"):
        fit_histories(["won"], ["2017-05-01"], ["2017-04-01"], AS_OF, seed=1)
    with pytest.raises(ValueError, match="need a close date"):
        fit_histories(["lost"], ["2017-05-01"], [None], AS_OF, seed=1)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["won", "lost", "open", "prospecting"]),
            st.integers(0, 420),  # engage: days after 2016-10-20 (capped at as-of below)
            st.integers(0, 200),  # cycle in days
        ),
        min_size=1,
        max_size=40,
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_fit_invariants_hold_for_any_input(rows, seed):
    base, horizon = np.datetime64("2016-10-20"), np.datetime64(AS_OF)
    outcome = np.array([r[0] for r in rows])
    engage = np.minimum(base + np.array([r[1] for r in rows]).astype("timedelta64[D]"), horizon)
    close = np.minimum(engage + np.array([r[2] for r in rows]).astype("timedelta64[D]"), horizon)
    close = np.where(np.isin(outcome, ["won", "lost"]), close, np.datetime64("NaT"))
    engage = np.where(outcome == "prospecting", np.datetime64("NaT"), engage)
    h = fit_histories(outcome, engage, close, AS_OF, seed=seed)
    _check_fit(outcome, engage, close, h)


def test_fit_shaping_bends_open_and_closed_timings():
    outcome, engage, close = _real_like(3_000, 4)
    n = outcome.shape[0]
    elapsed = np.full(n, 0.5)
    quiet = np.where(outcome == "lost", 20.0, 0.0)
    shaping = DealShaping(
        open_elapsed=elapsed,
        activity_scale=np.where(outcome == "lost", 0.5, 1.0),
        quiet_days_before_close=quiet,
        final_visit_weight=np.where(outcome == "lost", 2.0, 1.0),
    )
    h = fit_histories(outcome, engage, close, AS_OF, seed=9, shaping=shaping)
    _check_fit(outcome, engage, close, h)
    plain = fit_histories(outcome, engage, close, AS_OF, seed=9)
    # open deals past the first stage entered it recently (not when their path fitted) ...
    moved = (outcome == "open") & (h.final_stage > 0)
    in_stage = (np.datetime64(AS_OF) - h.stage_entered_at[moved]) / np.timedelta64(1, "D")
    plain_in_stage = (np.datetime64(AS_OF) - plain.stage_entered_at[moved]) / np.timedelta64(1, "D")
    assert np.median(in_stage) < np.median(plain_in_stage) / 2
    # ... and are active up to as-of
    last_activity = np.full(n, np.datetime64("1970-01-01"), dtype="datetime64[s]")
    np.maximum.at(last_activity, h.a_opp, h.a_at.astype("datetime64[s]"))
    quiet_open = (np.datetime64(AS_OF) - last_activity[moved]) / np.timedelta64(1, "D") > 30
    assert quiet_open.mean() < 0.2
    # lost deals went quiet 20 days before the loss: far fewer active in that time
    lost = outcome == "lost"

    def active_before_loss(hist: History) -> float:
        closed_at = hist.stage_entered_at.astype("datetime64[s]")
        at = hist.a_at.astype("datetime64[s]")
        late = lost[hist.a_opp] & (at > closed_at[hist.a_opp] - np.timedelta64(20, "D"))
        return np.unique(hist.a_opp[late]).size / lost.sum()

    assert active_before_loss(h) < active_before_loss(plain) / 2
