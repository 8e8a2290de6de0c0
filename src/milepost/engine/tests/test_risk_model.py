"""The risk model: fitted on a synthetic history whose outcomes are known, it ranks held-out
deals, never gives a signal a negative weight, is calibrated band by band, and falls back to the
process weights when there is too little history. The history is generated once per module."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from milepost.engine.history import simulate
from milepost.engine.process_schema import SIGNALS, parse_process
from milepost.engine.risk_history import (
    RECONSTRUCTED,
    DealHistory,
    signal_frame,
    synthetic_history,
    training_frame,
)
from milepost.engine.risk_model import (
    FALLBACK_INTERCEPT,
    FALLBACK_SLOPE,
    RiskModel,
    auc,
    deciles,
    fit,
    probabilities,
    risk_sentence,
    validate,
)
from milepost.engine.signals import SignalSettings

PROCESS = parse_process(
    (Path(__file__).resolve().parents[2] / "process" / "defaults" / "new_business.yaml").read_text()
)
SETTINGS = SignalSettings.of(PROCESS)
AS_OF = datetime(2026, 6, 1, tzinfo=UTC)


def _history(n: int, seed: int) -> DealHistory:
    return synthetic_history(simulate(n, seed, "2024-06-01", AS_OF), seed=seed)


@pytest.fixture(scope="module")
def frames() -> tuple[pl.DataFrame, pl.DataFrame]:
    """Two independent synthetic pipelines: one to fit on, one held out."""
    train = training_frame(_history(5000, 11), SETTINGS, AS_OF)
    test = training_frame(_history(5000, 12), SETTINGS, AS_OF)
    return train, test


@pytest.fixture(scope="module")
def model(frames: tuple[pl.DataFrame, pl.DataFrame]) -> RiskModel:
    return fit(frames[0], SETTINGS.weights, seed=1)


def test_the_fitted_model_ranks_held_out_deals(
    frames: tuple[pl.DataFrame, pl.DataFrame], model: RiskModel
) -> None:
    assert model.source == "fitted"
    check = validate(frames[1], model)
    assert check["auc"] > 0.6
    # The riskiest tenth of snapshots is lost or slips at least twice as often as the safest.
    rows = deciles(probabilities(frames[1], model), frames[1])
    assert rows[-1]["lost_or_slipped"] >= 2 * rows[0]["lost_or_slipped"]


def test_coefficients_are_never_negative_and_unlearnt_signals_add_nothing(
    model: RiskModel,
) -> None:
    assert set(model.coefficients) == set(SIGNALS)
    assert all(c >= 0 for c in model.coefficients.values())
    for signal in set(SIGNALS) - set(RECONSTRUCTED):
        assert model.coefficient(signal) == 0
    # Going quiet is how the synthetic deals that will be lost behave: it is learnt.
    assert model.coefficient("no_recent_activity") > 0.5


def test_monotone_a_signal_never_lowers_the_risk(model: RiskModel) -> None:
    base = model.probability([])
    for signal in SIGNALS:
        assert model.probability([signal]) >= base
        assert model.probability([signal, "close_date_past"]) >= model.probability(
            ["close_date_past"]
        )


def test_a_negative_coefficient_is_refused() -> None:
    with pytest.raises(ValueError, match="must be >= 0"):
        RiskModel(0.0, {"no_next_step": -0.1}, "fitted")


def test_calibrated_band_by_band_on_a_large_held_out_sample(
    frames: tuple[pl.DataFrame, pl.DataFrame], model: RiskModel
) -> None:
    bands = validate(frames[1], model)["calibration"]
    big = [b for b in bands if b["n"] >= 300]
    assert big
    for band in big:
        assert band["observed"] == pytest.approx(band["predicted"], abs=0.06), band
    # And overall: the mean chance is the observed rate.
    p = probabilities(frames[1], model)
    assert float(p.mean()) == pytest.approx(float(frames[1]["label"].mean()), abs=0.03)


def test_the_fit_records_its_quality(model: RiskModel) -> None:
    q = model.quality
    assert q["deals"] >= 200
    assert q["positives"] >= 30
    assert q["snapshots"] > q["deals"]
    assert 0.5 < q["auc"] <= 1
    assert sum(b["n"] for b in q["calibration"]) == q["heldout_snapshots"]


def test_below_the_threshold_the_process_weights_are_used(
    frames: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    few = frames[0].filter(pl.col("opportunity_id") < 150)
    assert 0 < few["opportunity_id"].n_unique() < 200
    model = fit(few, SETTINGS.weights)
    assert model.source == "fallback"
    assert model.intercept == FALLBACK_INTERCEPT
    assert (
        model.coefficient("criteria_unmet") == FALLBACK_SLOPE * SETTINGS.weights["criteria_unmet"]
    )
    assert model.quality["deals"] == few["opportunity_id"].n_unique()
    # Enough deals but too few lost or slipped: the fallback too.
    calm = frames[0].filter(~pl.col("label"))
    assert fit(calm, SETTINGS.weights).source == "fallback"


def test_the_fallback_is_a_chance_ordered_like_the_points_and_never_saturated() -> None:
    model = RiskModel.fallback(SETTINGS.weights)
    everything = model.probability(SIGNALS)
    assert everything < 0.995  # never shows as 100%
    assert model.probability([]) == pytest.approx(1 / (1 + math.exp(3)))
    heavy, light = "criteria_unmet", "amount_changed"
    assert SETTINGS.weights[heavy] > SETTINGS.weights[light]
    assert model.probability([heavy]) > model.probability([light])


def test_snapshots_reconstruct_signals_as_they_stood_then() -> None:
    """A deal created on day 0 that stalls, is pushed once on day 40 and is lost on day 90:
    at day 20 nothing fires; at day 50 its close date has been pushed and it is quiet."""
    day0 = datetime(2026, 1, 1, tzinfo=UTC)
    us = pl.Datetime("us", "UTC")
    deals = pl.DataFrame(
        {
            "opportunity_id": [1],
            "created_at": [day0],
            "closed_at": [day0 + timedelta(days=90)],
            "outcome": ["lost"],
            "close_date": [(day0 + timedelta(days=70)).date()],
            "amount": [5000.0],
        },
        schema_overrides={"created_at": us, "closed_at": us},
    )
    moves = pl.DataFrame(
        {
            "opportunity_id": [1, 1],
            "moved_at": [day0, day0 + timedelta(days=5)],
            "stage_key": ["engage", "discover"],
            "stage_steps": [None, 1],
        },
        schema_overrides={"moved_at": us, "stage_steps": pl.Int64},
    )
    activities = pl.DataFrame(
        {"opportunity_id": [1, 1], "occurred_at": [day0 + timedelta(days=d) for d in (2, 15)]},
        schema_overrides={"occurred_at": us},
    )
    changes = pl.DataFrame(
        {
            "opportunity_id": [1],
            "changed_at": [day0 + timedelta(days=40)],
            "close_date_from": [(day0 + timedelta(days=40)).date()],
            "close_date_shift_days": [30],
            "amount_from": [None],
        },
        schema_overrides={"changed_at": us, "amount_from": pl.Float64},
    )
    frame = signal_frame(
        DealHistory(deals, moves, activities, changes),
        SETTINGS,
        [day0 + timedelta(days=20), day0 + timedelta(days=50), day0 + timedelta(days=95)],
    )
    assert frame.height == 2  # closed by day 95: not a snapshot then
    early, late = frame.to_dicts()
    assert [s for s in SIGNALS if early[s]] == []
    assert early["close_date"] == (day0 + timedelta(days=40)).date()  # before the push
    assert {s for s in SIGNALS if late[s]} == {"close_date_pushed", "no_recent_activity"}
    assert late["close_date"] == (day0 + timedelta(days=70)).date()
    assert early["lost"]
    assert early["label"]
    assert not early["slipped"]


def test_a_win_after_the_period_it_had_is_a_slip_and_within_it_is_not() -> None:
    day0 = datetime(2026, 1, 1, tzinfo=UTC)
    us = pl.Datetime("us", "UTC")
    deals = pl.DataFrame(
        {
            "opportunity_id": [1, 2],
            "created_at": [day0, day0],
            # Close date 10 Jan: won 25 Jan (same month: on time), won 3 Feb (slipped).
            "closed_at": [day0 + timedelta(days=24), day0 + timedelta(days=33)],
            "outcome": ["won", "won"],
            "close_date": [(day0 + timedelta(days=9)).date()] * 2,
            "amount": [1.0, 1.0],
        },
        schema_overrides={"created_at": us, "closed_at": us},
    )
    moves = pl.DataFrame(
        {"opportunity_id": [1, 2], "moved_at": [day0, day0], "stage_key": ["engage"] * 2},
        schema_overrides={"moved_at": us},
    ).with_columns(pl.lit(None, dtype=pl.Int64).alias("stage_steps"))
    empty_acts = pl.DataFrame(schema={"opportunity_id": pl.Int64, "occurred_at": us})
    empty_changes = pl.DataFrame(
        schema={
            "opportunity_id": pl.Int64,
            "changed_at": us,
            "close_date_from": pl.Date,
            "close_date_shift_days": pl.Int64,
            "amount_from": pl.Float64,
        }
    )
    frame = signal_frame(
        DealHistory(deals, moves, empty_acts, empty_changes), SETTINGS, [day0 + timedelta(days=1)]
    )
    assert dict(zip(frame["opportunity_id"], frame["slipped"], strict=True)) == {1: False, 2: True}


def test_risk_sentence_names_the_top_signals() -> None:
    assert (
        risk_sentence(0.704, ["Close date past", "Too long in stage", "No next step", "x"])
        == "about 70% likely to slip or be lost: close date past, too long in stage, no next step"
    )
    assert risk_sentence(0.05, []) == "about 5% likely to slip or be lost"


def test_synthetic_pushes_happen_only_while_open_and_after_the_date() -> None:
    h = _history(500, 3)
    pushes = h.changes.join(h.deals, on="opportunity_id")
    assert pushes.height > 0
    assert (pushes["changed_at"].dt.date() > pushes["close_date_from"]).all()
    closed = pushes.filter(pl.col("closed_at").is_not_null())
    assert (closed["changed_at"] < closed["closed_at"]).all()


def test_no_closed_history_at_all_is_the_fallback_not_an_error() -> None:
    h = _history(50, 5)
    nothing = DealHistory(h.deals.clear(), h.moves.clear(), h.activities.clear(), h.changes.clear())
    frame = training_frame(nothing, SETTINGS, AS_OF)
    assert frame.height == 0
    model = fit(frame, SETTINGS.weights)
    assert model.source == "fallback"
    assert model.quality == {"deals": 0, "snapshots": 0, "positives": 0}


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.booleans(), st.integers(min_value=0, max_value=6)), min_size=1, max_size=60
    )
)
def test_auc_is_scikit_learns(rows):
    """Ties (many, on few distinct scores) count half; one class alone has no AUC."""
    from sklearn.metrics import roc_auc_score

    labels = np.array([int(y) for y, _ in rows])
    scores = np.array([float(s) for _, s in rows])
    got = auc(labels, scores)
    if labels.min() == labels.max():
        assert got is None
    else:
        assert got == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
