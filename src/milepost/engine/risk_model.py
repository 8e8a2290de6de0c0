"""The risk of a deal: a calibrated chance that it is lost or slips past its close date.

Risk used to be the sum of the signals' points capped at 100, so nearly every flagged deal
showed 100 and the ranking lost its meaning. Now it is a logistic model on the signal
indicators, ``p = 1 / (1 + exp(-(intercept + sum of the coefficients of the signals that
fire)))``, with two properties a manager can rely on:

- **Transparent**: one number per signal (its log-odds), shown on the admin page; a deal's top
  contributing signals are simply its firing signals with the largest coefficients.
- **Monotone**: every coefficient is >= 0 (a bounded solver, not clipping after the fact),
  so a signal can never lower a deal's risk.

The model is fitted per process version on closed history (:mod:`.risk_history` builds the
frame: the signals of each closed deal as they stood at snapshot dates before its close, and
whether it was then lost or won after the close date it had at the snapshot). With too little
history (fewer than :data:`MIN_DEALS` closed deals or :data:`MIN_POSITIVES` lost-or-slipped
ones) the process file's weights are used through a fixed logistic mapping
(:meth:`RiskModel.fallback`), never capped.

Fitted by maximum likelihood with an intercept, the probabilities match the observed rate
overall; the validation (:func:`validate`) shows them band by band on held-out deals, and no
separate calibrator is added unless that table says it is needed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, Literal

import numpy as np
import polars as pl

from milepost.engine.process_schema import SIGNALS

MIN_DEALS = 200
MIN_POSITIVES = 30
# The fallback mapping from process-file points to a chance: 0 points is about 5%, each point
# adds 0.04 to the log-odds (25 points, a strong signal, multiply the odds by e). 50 points is
# about 27%, 100 about 73%, every default signal at once (145 points) about 94%: ordered like
# the points, never saturated.
FALLBACK_INTERCEPT = -3.0
FALLBACK_SLOPE = 0.04
# L2 penalty of the fit (on coefficients, not the intercept): keeps a signal that fires a
# handful of times from getting a huge coefficient.
L2_PENALTY = 1.0
HOLDOUT_SHARE = 0.25
BANDS: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0001)

RISK_SIGNALS_SCHEMA: dict[str, Any] = {
    "opportunity_id": pl.Int64,
    "signal": pl.String,
    "weight": pl.Int64,
    "reason": pl.String,
    "contribution": pl.Float64,  # the signal's coefficient: log-odds it adds to the risk
}


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


@dataclass(frozen=True)
class RiskModel:
    """Intercept and one non-negative coefficient per signal (log-odds), with how it was made.

    ``source`` is ``fitted`` (learnt from closed history) or ``fallback`` (the process file's
    points through the fixed mapping). ``quality`` holds the fit's numbers for the admin page
    (deals, snapshots, positives, held-out AUC, calibration bands); empty for the fallback.
    """

    intercept: float
    coefficients: Mapping[str, float]
    source: Literal["fitted", "fallback"] = "fallback"
    quality: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        negative = [s for s, c in self.coefficients.items() if c < 0]
        if negative:
            raise ValueError(f"risk coefficients must be >= 0: {negative}")

    @classmethod
    def fallback(cls, weights: Mapping[str, int]) -> RiskModel:
        """The process file's points as log-odds: ``FALLBACK_SLOPE`` per point."""
        return cls(
            intercept=FALLBACK_INTERCEPT,
            coefficients={s: FALLBACK_SLOPE * weights.get(s, 0) for s in SIGNALS},
            source="fallback",
        )

    def coefficient(self, signal: str) -> float:
        return float(self.coefficients.get(signal, 0.0))

    def probability(self, signals: Iterable[str]) -> float:
        """The chance for a deal on which exactly ``signals`` fire."""
        return _sigmoid(self.intercept + sum(self.coefficient(s) for s in set(signals)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "intercept": self.intercept,
            "coefficients": dict(self.coefficients),
            "source": self.source,
            "quality": dict(self.quality),
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> RiskModel:
        return cls(
            intercept=float(doc["intercept"]),
            coefficients={str(k): float(v) for k, v in doc["coefficients"].items()},
            source=doc.get("source", "fitted"),
            quality=dict(doc.get("quality") or {}),
        )


def with_contributions(signals: pl.DataFrame, model: RiskModel) -> pl.DataFrame:
    """The signal rows with each signal's ``contribution`` (its coefficient) added."""
    return signals.with_columns(
        pl.col("signal")
        .replace_strict(
            {s: model.coefficient(s) for s in SIGNALS}, default=0.0, return_dtype=pl.Float64
        )
        .alias("contribution")
    ).select(list(RISK_SIGNALS_SCHEMA))


def risk_percent(probability: pl.Expr) -> pl.Expr:
    """The chance as a whole percent, 0-100 (what the agenda and lists show)."""
    return (probability * 100).round(0).cast(pl.Int64)


def risk_sentence(probability: float, labels: Sequence[str]) -> str:
    """``about 70% likely to slip or be lost: close date past, too long in stage`` (the first
    three of ``labels``, which come largest contribution first)."""
    text = f"about {round(probability * 100)}% likely to slip or be lost"
    if labels:
        text += ": " + ", ".join(label[0].lower() + label[1:] for label in labels[:3])
    return text


# ---------------------------------------------------------------------------------------------
# Fitting


@dataclass(frozen=True)
class Patterns:
    """A training frame reduced to its distinct signal patterns: ``x`` (patterns x signals,
    0/1), ``count`` snapshots and ``positive`` lost-or-slipped snapshots per pattern."""

    x: np.ndarray
    count: np.ndarray
    positive: np.ndarray


def patterns(frame: pl.DataFrame, features: Sequence[str] = SIGNALS) -> Patterns:
    """Group a training frame (signal indicator columns and ``label``) by signal pattern."""
    grouped = frame.group_by(list(features)).agg(
        pl.len().alias("__n"), pl.col("label").cast(pl.Int64).sum().alias("__pos")
    )
    return Patterns(
        x=grouped.select(list(features)).to_numpy().astype(np.float64),
        count=grouped["__n"].to_numpy().astype(np.float64),
        positive=grouped["__pos"].to_numpy().astype(np.float64),
    )


def _fit_coefficients(p: Patterns, penalty: float) -> tuple[float, np.ndarray]:
    """Maximum likelihood, L2-penalised, coefficients bounded at 0 (L-BFGS-B)."""
    from scipy.optimize import minimize

    k = p.x.shape[1]
    negative = p.count - p.positive

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = theta[0] + p.x @ theta[1:]
        # log(1 + e^z) computed stably; loss = sum(n * log(1+e^z) - pos * z)
        soft = np.logaddexp(0.0, z)
        value = float(np.sum(p.positive * (soft - z) + negative * soft))
        value += 0.5 * penalty * float(theta[1:] @ theta[1:])
        resid = p.count / (1.0 + np.exp(-z)) - p.positive
        grad = np.concatenate([[resid.sum()], p.x.T @ resid + penalty * theta[1:]])
        return value, grad

    rate = (p.positive.sum() + 0.5) / (p.count.sum() + 1.0)
    start = np.zeros(k + 1)
    start[0] = math.log(rate / (1 - rate))
    bounds = [(None, None)] + [(0.0, None)] * k
    result = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds)
    theta = np.asarray(result.x)
    return float(theta[0]), np.maximum(theta[1:], 0.0)


def holdout(frame: pl.DataFrame, share: float, seed: int) -> pl.Series:
    """Whether each row's deal is held out (whole deals, so no deal is on both sides)."""
    buckets = pl.col("opportunity_id").hash(seed) % 1000
    return frame.select(buckets < int(share * 1000)).to_series()


def fit(
    frame: pl.DataFrame,
    weights: Mapping[str, int],
    *,
    min_deals: int = MIN_DEALS,
    min_positives: int = MIN_POSITIVES,
    seed: int = 0,
) -> RiskModel:
    """A model from a training frame (:func:`.risk_history.training_frame`), or the fallback.

    With enough history: fit on three quarters of the deals, measure AUC and calibration on
    the rest, then refit on every deal (the stored coefficients) and record both.
    """
    deals = frame["opportunity_id"].n_unique() if frame.height else 0
    positives = frame.filter(pl.col("label"))["opportunity_id"].n_unique() if frame.height else 0
    counts = {"deals": deals, "snapshots": frame.height, "positives": positives}
    if deals < min_deals or positives < min_positives:
        base = RiskModel.fallback(weights)
        return RiskModel(base.intercept, base.coefficients, "fallback", {**counts})
    held = holdout(frame, HOLDOUT_SHARE, seed)
    train, test = frame.filter(~held), frame.filter(held)
    intercept, coef = _fit_coefficients(patterns(train), L2_PENALTY)
    trial = RiskModel(intercept, dict(zip(SIGNALS, coef.tolist(), strict=True)), "fitted")
    check = validate(test, trial) if test.height else {}
    intercept, coef = _fit_coefficients(patterns(frame), L2_PENALTY)
    fired = {s: int(frame[s].sum()) for s in SIGNALS}
    quality = {
        **counts,
        "heldout_snapshots": test.height,
        "auc": check.get("auc"),
        "calibration": check.get("calibration", []),
        "fired": fired,
        "base_rate": float(frame["label"].mean() or 0.0),  # type: ignore[arg-type]
    }
    return RiskModel(intercept, dict(zip(SIGNALS, coef.tolist(), strict=True)), "fitted", quality)


# ---------------------------------------------------------------------------------------------
# Validation


def probabilities(frame: pl.DataFrame, model: RiskModel) -> pl.Series:
    """The model's chance for every row of a frame of signal indicator columns."""
    z = pl.lit(model.intercept)
    for s in SIGNALS:
        z = z + pl.col(s).cast(pl.Float64) * model.coefficient(s)
    return frame.select((1.0 / (1.0 + (-z).exp())).alias("p")).to_series()


def auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """Area under the ROC curve (None when one class is missing): the chance that a random
    positive scores above a random negative, ties counting half (Mann-Whitney U from average
    ranks, as scikit-learn's ``roc_auc_score`` gives; importing scikit-learn for it took
    longer than a fit)."""
    positive = labels.astype(bool)
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = pl.Series(scores).rank("average").to_numpy()
    u = float(ranks[positive].sum()) - n_pos * (n_pos + 1) / 2
    return u / (n_pos * n_neg)


def calibration(probability: pl.Series, label: pl.Series) -> list[dict[str, Any]]:
    """Predicted vs observed per probability band (bands of :data:`BANDS`)."""
    frame = pl.DataFrame({"p": probability, "y": label.cast(pl.Float64)})
    rows = []
    for low, high in pairwise(BANDS):
        band = frame.filter((pl.col("p") >= low) & (pl.col("p") < high))
        if band.height:
            rows.append(
                {
                    "band": f"{round(low * 100)}-{min(100, round(high * 100))}%",
                    "n": band.height,
                    "predicted": float(band["p"].mean()),  # type: ignore[arg-type]
                    "observed": float(band["y"].mean()),  # type: ignore[arg-type]
                }
            )
    return rows


def deciles(score: pl.Series, frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Rows ranked by ``score`` into ten equal groups (1 = lowest risk): the loss, slip and
    lost-or-slipped rates of each (``frame`` has ``lost``, ``slipped``, ``label``)."""
    n = frame.height
    ranked = (
        frame.select("lost", "slipped", "label")
        .with_columns(score.alias("__s"), pl.Series("__r", np.random.default_rng(0).random(n)))
        .sort("__s", "__r")  # ties broken at random, not by row order
        .with_columns((pl.int_range(pl.len()) * 10 // pl.len() + 1).alias("decile"))
    )
    return (
        ranked.group_by("decile")
        .agg(
            pl.len().alias("n"),
            pl.col("__s").mean().alias("score"),
            pl.col("lost").mean().alias("loss_rate"),
            pl.col("slipped").mean().alias("slip_rate"),
            pl.col("label").mean().alias("lost_or_slipped"),
        )
        .sort("decile")
        .to_dicts()
    )


def validate(frame: pl.DataFrame, model: RiskModel) -> dict[str, Any]:
    """AUC and calibration of ``model`` on a labelled frame."""
    p = probabilities(frame, model)
    y = frame["label"].cast(pl.Int64).to_numpy()
    return {"auc": auc(y, p.to_numpy()), "calibration": calibration(p, frame["label"])}
