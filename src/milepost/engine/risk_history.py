"""Deals as they stood at past moments: the training frame of the risk model.

For every deal open at a snapshot moment, its signals are reconstructed *as of* that moment
from its dated history, then run through the very same signal code the inspection uses
(:func:`~milepost.engine.signals.compute_signals`, one call per moment). A deal closed by the
time the model is fitted is labelled: lost, or won after the period (month) of the close date
it had at the snapshot: slipped (see :func:`signal_frame`).

Reconstructed as of the snapshot (from stage moves, close-date and amount changes and
activities, which are all dated):

- ``stalled_in_stage`` (stage and when it was entered), ``stage_skipped`` and
  ``went_backwards`` (moves up to then), ``close_date_past`` (the close date then: the
  ``from`` of the first close-date change after the snapshot, else today's), ``close_date_pushed``
  (pushes up to then), ``amount_changed`` (the amount then against the first amount), and
  ``no_recent_activity`` (the last activity up to then).

Not reconstructed (they never fire in the training frame, so the fitted model learns nothing
for them and gives them no weight): ``criteria_unmet`` (evidence states are not historised),
``no_next_step`` (next steps are not historised), ``single_threaded`` and
``no_economic_buyer`` (contact roles and engagement are not dated).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from milepost.engine.history import History
from milepost.engine.process_schema import SIGNALS
from milepost.engine.signals import SignalSettings, compute_signals

RECONSTRUCTED: tuple[str, ...] = (
    "stalled_in_stage",
    "close_date_past",
    "close_date_pushed",
    "amount_changed",
    "stage_skipped",
    "went_backwards",
    "no_recent_activity",
)
_UTC = pl.Datetime("us", "UTC")
DEALS_SCHEMA: dict[str, Any] = {
    "opportunity_id": pl.Int64,
    "created_at": _UTC,
    "closed_at": _UTC,  # null: still open
    "outcome": pl.String,  # won / lost / open
    "close_date": pl.Date,  # the close date today
    "amount": pl.Float64,  # the amount today
}
MOVES_SCHEMA: dict[str, Any] = {
    "opportunity_id": pl.Int64,
    "moved_at": _UTC,
    "stage_key": pl.String,  # the stage moved to
    "stage_steps": pl.Int64,  # >1 a skip, <0 a step back, null a process change
}
ACTIVITIES_SCHEMA: dict[str, Any] = {"opportunity_id": pl.Int64, "occurred_at": _UTC}
CHANGES_SCHEMA: dict[str, Any] = {
    "opportunity_id": pl.Int64,
    "changed_at": _UTC,
    "close_date_from": pl.Date,
    "close_date_shift_days": pl.Int64,
    "amount_from": pl.Float64,
}


@dataclass(frozen=True)
class DealHistory:
    """The dated history the reconstruction needs, as frames (schemas above)."""

    deals: pl.DataFrame
    moves: pl.DataFrame
    activities: pl.DataFrame
    changes: pl.DataFrame


def moments(first: datetime, last: datetime, step_days: int) -> list[datetime]:
    """Snapshot moments every ``step_days`` going back from ``last`` to ``first``."""
    out, at = [], last
    while at >= first:
        out.append(at)
        at -= timedelta(days=step_days)
    return sorted(out)


def _asof(
    left: pl.LazyFrame, right: pl.LazyFrame, on: str, strategy: str = "backward"
) -> pl.LazyFrame:
    return left.join_asof(
        right.sort(on),
        left_on="snapshot",
        right_on=on,
        by="opportunity_id",
        strategy=strategy,  # type: ignore[arg-type]
        check_sortedness=False,
    )


def snapshot_facts(h: DealHistory, at: Sequence[datetime]) -> pl.DataFrame:
    """One row per (deal, moment) the deal was open at, in the inspection's deal-facts shape,
    plus ``snapshot``, ``outcome`` and ``closed_at``. Facts that are not historised are null
    (their signals cannot fire)."""
    snaps = pl.DataFrame({"snapshot": list(at)}, schema={"snapshot": _UTC}).lazy()
    open_then = (
        h.deals.lazy()
        .join(snaps, how="cross")
        .filter(
            (pl.col("created_at") <= pl.col("snapshot"))
            & (pl.col("closed_at").is_null() | (pl.col("closed_at") > pl.col("snapshot")))
        )
        .sort("snapshot")
    )
    moves = (
        h.moves.lazy()
        .sort("opportunity_id", "moved_at")
        .with_columns(
            (pl.col("stage_steps") > 1)
            .fill_null(False)
            .cum_sum()
            .over("opportunity_id")
            .cast(pl.Int64)
            .alias("skips"),
            (pl.col("stage_steps") < 0)
            .fill_null(False)
            .cum_sum()
            .over("opportunity_id")
            .cast(pl.Int64)
            .alias("backs"),
        )
        .select("opportunity_id", "moved_at", "stage_key", "skips", "backs")
    )
    acts = h.activities.lazy().select("opportunity_id", pl.col("occurred_at").alias("__act"))
    pushes = (
        h.changes.lazy()
        .filter(pl.col("close_date_shift_days") > 0)
        .sort("opportunity_id", "changed_at")
        .select(
            "opportunity_id",
            pl.col("changed_at").alias("__push_at"),
            pl.int_range(1, pl.len() + 1).over("opportunity_id").cast(pl.Int64).alias("pushes"),
            pl.col("close_date_shift_days").cum_sum().over("opportunity_id").alias("pushed_days"),
        )
    )
    close_changes = (
        h.changes.lazy()
        .filter(pl.col("close_date_from").is_not_null())
        .select("opportunity_id", pl.col("changed_at").alias("__close_at"), "close_date_from")
    )
    amount_changes = h.changes.lazy().filter(pl.col("amount_from").is_not_null())
    first_amount = (
        amount_changes.sort("changed_at")
        .group_by("opportunity_id")
        .agg(
            pl.col("changed_at").first().alias("__first_amount_at"),
            pl.col("amount_from").first().alias("__first_amount"),
        )
    )
    later_amount = amount_changes.select(
        "opportunity_id",
        pl.col("changed_at").alias("__amount_at"),
        pl.col("amount_from").alias("__amount_then"),
    )
    frame = _asof(open_then, moves, "moved_at")
    frame = _asof(frame, acts, "__act")
    frame = _asof(frame, pushes, "__push_at")
    frame = _asof(frame, close_changes, "__close_at", "forward")
    frame = _asof(frame, later_amount, "__amount_at", "forward")
    frame = frame.join(first_amount, on="opportunity_id", how="left")
    return frame.select(
        "opportunity_id",
        "snapshot",
        "outcome",
        "closed_at",
        "stage_key",
        pl.col("moved_at").alias("stage_entered_at"),
        "created_at",
        pl.coalesce("__amount_then", "amount").alias("amount"),
        pl.coalesce("close_date_from", "close_date").alias("close_date"),
        # Not historised: a placeholder step with no date, so "no next step" cannot fire.
        pl.lit("(not historised)").alias("next_step"),
        pl.lit(None, dtype=pl.Date).alias("next_step_date"),
        pl.col("__act").alias("last_activity_at"),
        pl.lit(None, dtype=pl.Int64).alias("engaged_recent"),
        pl.lit(None, dtype=pl.Int64).alias("economic_buyers"),
        pl.col("skips").fill_null(0),
        pl.col("backs").fill_null(0),
        pl.col("pushes").fill_null(0),
        pl.col("pushed_days").fill_null(0),
        pl.when(pl.col("__first_amount_at") <= pl.col("snapshot"))
        .then(pl.col("__first_amount"))
        .otherwise(None)
        .alias("original_amount"),
        pl.lit(None, dtype=pl.Boolean).alias("under_control"),
        pl.lit(None, dtype=pl.String).alias("first_gap"),
        pl.lit(None, dtype=pl.Int64).alias("unmet_before"),
    ).collect()


def signal_frame(h: DealHistory, settings: SignalSettings, at: Sequence[datetime]) -> pl.DataFrame:
    """One row per (deal, moment): 0/1 per signal, ``lost``, ``slipped`` and ``label``
    (lost or slipped; null while the deal is still open), and ``amount``, ``snapshot``.

    Slipped: won after the end of the month of the close date it had at the snapshot (or of
    the snapshot's month, when that date had already passed).
    """
    facts = snapshot_facts(h, at)
    fired = []
    for (moment,), part in facts.group_by("snapshot", maintain_order=True):
        if not isinstance(moment, datetime):  # pragma: no cover - the schema says datetime
            raise TypeError(moment)
        signals = compute_signals(part.filter(pl.col("stage_key").is_not_null()), settings, moment)
        fired.append(
            signals.select("opportunity_id", "signal").with_columns(
                pl.lit(moment, dtype=_UTC).alias("snapshot")
            )
        )
    indicators = (
        pl.concat(fired)
        .with_columns(pl.lit(1, dtype=pl.Int8).alias("__one"))
        .pivot(on="signal", index=["opportunity_id", "snapshot"], values="__one")
        if fired and sum(f.height for f in fired)
        else pl.DataFrame(schema={"opportunity_id": pl.Int64, "snapshot": _UTC})
    )
    for s in SIGNALS:
        if s not in indicators.columns:
            indicators = indicators.with_columns(pl.lit(None, dtype=pl.Int8).alias(s))
    closed_day = pl.col("closed_at").dt.date()
    # The period the deal had at the snapshot: the month of its close date then, or the
    # snapshot's month once that date has passed (a deal past its date can still close this
    # month; "after a date already gone" would be true of it by definition).
    period_end = pl.max_horizontal(
        pl.col("close_date"), pl.col("snapshot").dt.date()
    ).dt.month_end()
    return (
        facts.select("opportunity_id", "snapshot", "outcome", "closed_at", "close_date", "amount")
        .join(indicators, on=["opportunity_id", "snapshot"], how="left")
        .with_columns(pl.col(list(SIGNALS)).fill_null(0).cast(pl.Int8))
        .with_columns(
            pl.when(pl.col("outcome") == "open")
            .then(None)
            .otherwise(pl.col("outcome") == "lost")
            .alias("lost"),
            pl.when(pl.col("outcome") == "open")
            .then(None)
            .otherwise((pl.col("outcome") == "won") & (closed_day > period_end))
            .alias("slipped"),
        )
        .with_columns((pl.col("lost") | pl.col("slipped")).alias("label"))
        .sort("snapshot", "opportunity_id")
    )


def training_frame(
    h: DealHistory,
    settings: SignalSettings,
    as_of: datetime,
    *,
    lookback_days: int = 730,
    step_days: int = 14,
) -> pl.DataFrame:
    """The closed history at ``as_of``: every deal closed by then, at every snapshot moment
    (every ``step_days`` over the ``lookback_days`` before) it was open at, labelled."""
    closed = h.deals.filter(pl.col("closed_at") <= as_of)
    known = DealHistory(closed, h.moves, h.activities, h.changes)
    at = moments(as_of - timedelta(days=lookback_days), as_of - timedelta(days=1), step_days)
    return signal_frame(known, settings, at)


# ---------------------------------------------------------------------------------------------
# The synthetic history, where the truth of every outcome is known


def synthetic_history(
    history: History,
    *,
    seed: int,
    cycle_days: float = 75.0,
    cycle_sigma: float = 0.35,
    push_probability: float = 0.7,
    push_days: int = 30,
    quiet_days: int = 28,
    quiet_share: float = 0.9,
    lost_engagement: float = 0.4,
) -> DealHistory:
    """A :class:`~milepost.engine.history.History` as dated deal history, with what the
    generator lacks drawn on top: each deal's close date at creation (a rep's estimate,
    lognormal around ``cycle_days``), and, each time a still-open deal passes its close date,
    a push of ``push_days`` with ``push_probability`` (the rep's habit). Amounts are constant.

    The generator's moves are memoryless, so on their own its activities say nothing of how a
    deal ends. Deals going quiet before they are lost is what inspection watches for, so that
    truth is put in: a deal that will be lost is less engaged all along (only
    ``lost_engagement`` of its activities are kept), and ``quiet_share`` of its activities in
    the ``quiet_days`` before it was lost are dropped as well.
    """
    rng = np.random.default_rng(seed)
    n = history.n
    keys = history.stage_keys
    k = len(keys) - 2
    final = history.final_stage.astype(np.int64)
    outcome = np.where(final == k, "won", np.where(final == k + 1, "lost", "open"))
    created = history.created_at.astype("datetime64[s]").astype(np.int64)
    closed = np.where(
        outcome == "open", -1, history.stage_entered_at.astype("datetime64[s]").astype(np.int64)
    )
    day = 86_400
    estimate = (cycle_days * rng.lognormal(0.0, cycle_sigma, n) * day).astype(np.int64)
    close = (created + estimate) // day * day
    horizon = int(max(created.max(initial=0), closed.max(initial=0))) + 1
    c_opp: list[np.ndarray] = []
    c_at: list[np.ndarray] = []
    c_from: list[np.ndarray] = []
    current = close.copy()
    # Pushes: each round, the deals still open past their close date (before they closed and
    # before the horizon) push it with the given probability; the others stop being pushed.
    active = np.arange(n)
    for _ in range(24):
        end = np.where(closed[active] >= 0, closed[active], horizon)
        due = active[current[active] + day < end]
        if due.size == 0:
            break
        pushed = due[rng.random(due.size) < push_probability]
        c_opp.append(pushed)
        c_at.append(current[pushed] + day)  # the morning after the close date passed
        c_from.append(current[pushed].copy())
        current[pushed] += push_days * day
        active = pushed
    a = np.concatenate(c_opp) if c_opp else np.zeros(0, dtype=np.int64)
    deals = pl.DataFrame(
        {
            "opportunity_id": np.arange(n, dtype=np.int64),
            "created_at": created * 1_000_000,
            "closed_at": pl.Series(closed * 1_000_000).replace(-1_000_000, None),
            "outcome": outcome,
            "close_date": (current // day).astype(np.int32),
            "amount": np.full(n, 10_000.0),
        },
    ).with_columns(
        pl.col("created_at").cast(_UTC),
        pl.col("closed_at").cast(_UTC),
        pl.col("close_date").cast(pl.Date),
    )
    keyed = pl.Series(list(keys))
    moves = pl.DataFrame(
        {
            "opportunity_id": history.t_opp,
            "moved_at": history.t_at.astype("datetime64[us]"),
            "stage_key": keyed.gather(history.t_to.astype(np.int64)),
            "__from": history.t_from.astype(np.int64),
            "__to": history.t_to.astype(np.int64),
        }
    ).select(
        "opportunity_id",
        pl.col("moved_at").dt.replace_time_zone("UTC"),
        "stage_key",
        pl.when((pl.col("__from") < 0) | (pl.col("__to") >= k))
        .then(None)
        .otherwise(pl.col("__to") - pl.col("__from"))
        .cast(pl.Int64)
        .alias("stage_steps"),
    )
    a_at = history.a_at.astype("datetime64[s]").astype(np.int64)
    lost_at = np.where(outcome == "lost", closed, -1)[history.a_opp]
    quiet = (lost_at >= 0) & (a_at > lost_at - quiet_days * day) & (a_at <= lost_at)
    draw = rng.random(a_at.size)
    keep = (lost_at < 0) | ((draw < lost_engagement) & ~(quiet & (draw < quiet_share)))
    activities = pl.DataFrame(
        {"opportunity_id": history.a_opp[keep], "occurred_at": a_at[keep] * 1_000_000}
    ).with_columns(pl.col("occurred_at").cast(_UTC))
    changes = pl.DataFrame(
        {
            "opportunity_id": a.astype(np.int64),
            "changed_at": (np.concatenate(c_at) if c_at else a) * 1_000_000,
            "close_date_from": ((np.concatenate(c_from) if c_from else a) // day).astype(np.int32),
        }
    ).select(
        "opportunity_id",
        pl.col("changed_at").cast(_UTC),
        pl.col("close_date_from").cast(pl.Date),
        pl.lit(push_days, dtype=pl.Int64).alias("close_date_shift_days"),
        pl.lit(None, dtype=pl.Float64).alias("amount_from"),
    )
    return DealHistory(deals, moves, activities, changes)
