"""Velocity from stage transitions: time in stage, cycle length, sales velocity and its trend.

Reads the same transitions frame as :mod:`milepost.engine.conversion` (through its
:func:`~milepost.engine.conversion.history`, so rows after ``as_of`` and same-key process
changes are left out the same way).

- *Time in stage*: a visit of an open stage starts at the transition into it and ends at the
  deal's next transition. Completed visits that ended in the period count (a visit still
  running has no length yet); median, p80 and p95 in days, linear interpolation between order
  statistics.
- *Cycle length*: from the deal's first transition (creation) to its closing transition, for
  deals closed in the period, separately for won and lost.
- *Sales velocity* over a period = open deals at the end of the period x win rate by count of
  the deals closed in it x average amount won x 1 / average won cycle (days): money per day.
  Each factor is returned with it; any missing factor leaves the velocity empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import polars as pl

from milepost.engine.conversion import (
    MIN_SAMPLE,
    StageOrder,
    WinRate,
    _days,
    closed_in,
    last_rows,
    prepared,
    win_rate_of,
)

QUANTILES = (0.5, 0.8, 0.95)


@dataclass(frozen=True)
class Spread:
    """How many, and the median, p80, p95 and mean of a set of durations (days)."""

    n: int
    median: float | None
    p80: float | None
    p95: float | None
    mean: float | None


def spread(days: pl.Series) -> Spread:
    values = days.drop_nulls()
    if values.is_empty():
        return Spread(0, None, None, None, None)
    q = [float(values.quantile(x, interpolation="linear") or 0.0) for x in QUANTILES]
    return Spread(values.len(), q[0], q[1], q[2], float(values.mean() or 0.0))  # type: ignore[arg-type]


def visits(hist: pl.DataFrame) -> pl.DataFrame:
    """Completed visits of open stages: ``opportunity_id, stage, entered_at, left_at, days``."""
    same_deal = pl.col("opportunity_id") == pl.col("opportunity_id").shift(-1)
    return (
        hist.with_columns(pl.when(same_deal).then(pl.col("moved_at").shift(-1)).alias("left_at"))
        .filter((pl.col("to_kind") == "open") & pl.col("left_at").is_not_null())
        .select(
            "opportunity_id",
            pl.col("to_stage").alias("stage"),
            pl.col("moved_at").alias("entered_at"),
            "left_at",
            _days(pl.col("left_at") - pl.col("moved_at")).alias("days"),
        )
    )


def time_in_stage(
    transitions: pl.DataFrame,
    order: StageOrder,
    *,
    start: datetime,
    end: datetime,
    as_of: datetime,
) -> dict[str, Spread]:
    """Per open stage, the spread of the visits that ended in ``[start, end)``."""
    done = visits(prepared(transitions, order, as_of)).filter(
        (pl.col("left_at") >= start) & (pl.col("left_at") < end)
    )
    return {s: spread(done.filter(pl.col("stage") == s)["days"]) for s in order.open}


def cycles(closed: pl.DataFrame) -> pl.DataFrame:
    """``closed`` (from :func:`~milepost.engine.conversion.closed_in`) with ``days``."""
    return closed.with_columns(_days(pl.col("closed_at") - pl.col("first_at")).alias("days"))


@dataclass(frozen=True)
class Velocity:
    """Sales velocity over one period, with each of its factors."""

    start: datetime
    end: datetime
    open_deals: int
    win_rate: WinRate
    average_won_amount: Decimal | None
    won_cycle: Spread
    lost_cycle: Spread
    per_day: float | None


def open_at(hist: pl.DataFrame, moment: datetime) -> pl.DataFrame:
    """Deals open at ``moment`` (their last transition at or before it is to an open stage)."""
    return (
        last_rows(hist.filter(pl.col("moved_at") <= moment))
        .filter(pl.col("to_kind") == "open")
        .select("opportunity_id", "to_stage", "amount")
    )


def _velocity(
    hist: pl.DataFrame, start: datetime, end: datetime, as_of: datetime, min_sample: int
) -> Velocity:
    closed = cycles(closed_in(hist, start, end))
    return _factors(closed, open_at(hist, min(end, as_of)).height, start, end, min_sample)


def _factors(
    closed: pl.DataFrame, open_deals: int, start: datetime, end: datetime, min_sample: int
) -> Velocity:
    rate = win_rate_of(closed, min_sample)
    won = closed.filter(pl.col("outcome") == "won")
    average = (rate.won_amount / rate.won).quantize(Decimal("0.01")) if rate.won else None
    won_cycle = spread(won["days"])
    lost_cycle = spread(closed.filter(pl.col("outcome") == "lost")["days"])
    per_day = None
    if rate.by_count.value is not None and average is not None and won_cycle.mean:
        per_day = open_deals * rate.by_count.value * float(average) / won_cycle.mean
    return Velocity(start, end, open_deals, rate, average, won_cycle, lost_cycle, per_day)


def open_counts(hist: pl.DataFrame, moments: list[datetime]) -> list[int]:
    """How many deals are open at each of ``moments``, in one pass: a deal's open spells run
    from a move into an open stage to its next move; the deals open at ``t`` are the spells
    begun at or before ``t`` minus those ended at or before it (a deal is in one stage at a
    time, so spells of one deal never overlap)."""
    same_deal = pl.col("opportunity_id") == pl.col("opportunity_id").shift(-1)
    spells = hist.select(
        pl.col("moved_at").alias("begin"),
        pl.when(same_deal).then(pl.col("moved_at").shift(-1)).alias("end"),
        pl.col("to_kind"),
    ).filter(pl.col("to_kind") == "open")
    begins = spells["begin"].sort()
    ends = spells["end"].drop_nulls().sort()
    at = pl.Series(moments, dtype=hist.schema["moved_at"])
    started = begins.search_sorted(at, side="right")
    stopped = ends.search_sorted(at, side="right")
    return [int(a) - int(b) for a, b in zip(started, stopped, strict=True)]


def sales_velocity(
    transitions: pl.DataFrame,
    order: StageOrder,
    *,
    start: datetime,
    end: datetime,
    as_of: datetime,
    min_sample: int = MIN_SAMPLE,
) -> Velocity:
    """Sales velocity and its factors over ``[start, end)``; open deals counted at the end of
    the period (or at ``as_of`` if earlier)."""
    return _velocity(prepared(transitions, order, as_of), start, end, as_of, min_sample)


def buckets(start: datetime, end: datetime, every: str) -> list[tuple[datetime, datetime]]:
    """Calendar months (``every="month"``) or quarters (``"quarter"``) covering ``[start, end)``,
    clipped to it."""
    if every not in ("month", "quarter"):
        raise ValueError("every must be month or quarter")
    step = 1 if every == "month" else 3
    month = start.month - (start.month - 1) % step
    cursor = datetime(start.year, month, 1, tzinfo=UTC)
    out = []
    while cursor < end:
        year, month = divmod(cursor.month - 1 + step, 12)
        following = datetime(cursor.year + year, month + 1, 1, tzinfo=UTC)
        out.append((max(cursor, start), min(following, end)))
        cursor = following
    return out


def velocity_trend(
    transitions: pl.DataFrame,
    order: StageOrder,
    *,
    start: datetime,
    end: datetime,
    as_of: datetime,
    every: str = "month",
    min_sample: int = MIN_SAMPLE,
) -> list[Velocity]:
    """:func:`sales_velocity` for each month or quarter of ``[start, end)`` (the closed deals
    read once, the open deals at every bucket's end counted in one pass)."""
    hist = prepared(transitions, order, as_of)
    spans = buckets(start, end, every)
    closed = cycles(closed_in(hist, start, end))
    opens = open_counts(hist, [min(b, as_of) for _, b in spans])
    return [
        _factors(
            closed.filter((pl.col("closed_at") >= a) & (pl.col("closed_at") < b)),
            count,
            a,
            b,
            min_sample,
        )
        for (a, b), count in zip(spans, opens, strict=True)
    ]
