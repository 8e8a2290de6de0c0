"""The pipeline waterfall between two moments, reconciling exactly: opening + flows = closing.

The *pipeline* at a moment is the deals that are open then and whose close date (as it was
then) falls in the *scope* window ``[scope_from, scope_to]`` (either bound may be open). A
deal's state at a moment (stage kind, amount, close date) is rebuilt from its history: the
stage transitions (each records the amount and close date at the move) and the opportunity
changes (a close date or amount edit), each value carried forward from the last event that set
it. Events at the same instant apply transitions first, then changes, in input order.

Every event in ``[start, end)`` that changes a deal's membership or its amount in the pipeline
is one flow, signed so that the flows telescope from the opening to the closing pipeline:

- it enters: **created** (the deal's first transition) or **pulled in** (its close date moved
  into the window, or it was reopened): ``+1`` deal, ``+amount``;
- it stays with another amount: **amount increased** / **amount decreased** (0 deals,
  ``new - old``);
- it leaves: **won**, **lost**, **pushed out** (still open, close date after the window) or
  **moved out of scope** (anything else: a close date pulled before the window): ``-1`` deal,
  ``-amount`` at the moment it left. An amount changed by the very event that ends it (a deal
  won for more than it was forecast) is first booked as an increase or decrease, so *won*
  shows the amount won.

So ``opening + sum(flows) = closing`` holds exactly, by count and by amount, for any history
(a property test checks it). The opening pipeline is the state just before ``start``, the
closing one just before ``end``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import polars as pl

from milepost.engine.conversion import MONEY, TIME, ZERO, _money
from milepost.engine.frames import collect

CHANGES_SCHEMA: dict[str, Any] = {
    "opportunity_id": pl.Int64,
    "changed_at": TIME,
    "amount_to": MONEY,
    "close_date_to": pl.Date,
}
FLOWS: tuple[str, ...] = (
    "created",
    "pulled_in",
    "pushed_out",
    "increased",
    "decreased",
    "won",
    "lost",
    "moved_out",
)
BARS: tuple[str, ...] = ("opening", *FLOWS, "closing")


@dataclass(frozen=True)
class Bar:
    """One bar: ``deals`` distinct deals in it; ``count`` and ``amount`` its signed effect on
    the pipeline (the opening and closing bars: the pipeline itself)."""

    key: str
    deals: int
    count: int
    amount: Decimal


@dataclass(frozen=True)
class Waterfall:
    start: datetime
    end: datetime
    bars: tuple[Bar, ...]

    def bar(self, key: str) -> Bar:
        return next(b for b in self.bars if b.key == key)

    @property
    def reconciles(self) -> bool:
        flows = [self.bar(k) for k in FLOWS]
        opening, closing = self.bar("opening"), self.bar("closing")
        return (
            opening.count + sum(b.count for b in flows) == closing.count
            and opening.amount + sum((b.amount for b in flows), ZERO) == closing.amount
        )


def empty_changes() -> pl.DataFrame:
    return pl.DataFrame(schema=CHANGES_SCHEMA)


def _events(transitions: pl.DataFrame, changes: pl.DataFrame, as_of: datetime) -> pl.DataFrame:
    moves = transitions.lazy().select(
        "opportunity_id",
        pl.col("moved_at").alias("at"),
        pl.lit(0, dtype=pl.Int8).alias("source"),
        pl.col("to_kind").alias("kind"),
        pl.col("amount").cast(MONEY),
        "close_date",
    )
    edits = changes.lazy().select(
        "opportunity_id",
        pl.col("changed_at").alias("at"),
        pl.lit(1, dtype=pl.Int8).alias("source"),
        pl.lit(None, dtype=pl.String).alias("kind"),
        pl.col("amount_to").cast(MONEY).alias("amount"),
        pl.col("close_date_to").alias("close_date"),
    )
    row = pl.col("__row")
    events = (
        pl.concat([moves.with_row_index("__i"), edits.with_row_index("__i")])
        .filter(pl.col("at") <= as_of)
        .sort("opportunity_id", "at", "source", "__i")
        .with_columns(
            pl.int_range(pl.len(), dtype=pl.Int64).alias("__row"), _starts().alias("__new")
        )
        .with_columns(
            pl.when("__new").then(row).forward_fill().alias("__start"),
            (pl.col("source") == 0).cast(pl.Int64).cum_sum().alias("__moves"),
        )
    )
    # Each value carried forward from the last event of the same deal that set it: the row
    # that last set it, if it is not before the deal's first row (no window per deal: the
    # frame is sorted, neighbours say where a deal starts).
    filled = [
        pl.when(pl.when(pl.col(c).is_not_null()).then(row).forward_fill() >= pl.col("__start"))
        .then(
            pl.col(c).gather(pl.when(pl.col(c).is_not_null()).then(row).forward_fill().fill_null(0))
        )
        .alias(c)
        for c in ("kind", "amount", "close_date")
    ]
    moves_before = pl.when("__new").then(pl.col("__moves") - (pl.col("source") == 0).cast(pl.Int64))
    return collect(
        events.with_columns(filled)
        .with_columns(
            (
                (pl.col("source") == 0) & ((pl.col("__moves") - moves_before.forward_fill()) == 1)
            ).alias("creation")
        )
        .drop("__i", "__row", "__start", "__moves"),
        rows=transitions.height + changes.height,
    )


def _starts() -> pl.Expr:
    deal = pl.col("opportunity_id")
    return (deal != deal.shift(1)).fill_null(True)


def _ends() -> pl.Expr:
    deal = pl.col("opportunity_id")
    return (deal != deal.shift(-1)).fill_null(True)


def _in_scope(close_date: pl.Expr, scope_from: date | None, scope_to: date | None) -> pl.Expr:
    inside = close_date.is_not_null()
    if scope_from is not None:
        inside = inside & (close_date >= scope_from)
    if scope_to is not None:
        inside = inside & (close_date <= scope_to)
    return inside


def waterfall_flows(
    transitions: pl.DataFrame,
    changes: pl.DataFrame,
    *,
    start: datetime,
    end: datetime,
    as_of: datetime,
    scope_from: date | None = None,
    scope_to: date | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """``(opening, flows, closing)``: the deals in the pipeline just before ``start`` and just
    before ``end`` (``opportunity_id, amount``), and one row per flow (``opportunity_id, at,
    flow, count, amount``) in ``[start, end)``."""
    if not start < end:
        raise ValueError("the waterfall needs start < end")
    events = _events(transitions, changes, as_of).with_columns(
        (
            (pl.col("kind") == "open")
            & _in_scope(pl.col("close_date"), scope_from, scope_to)
            & pl.col("amount").is_not_null()
        ).alias("inside")
    )
    earlier = ~pl.col("__new")
    events = events.with_columns(
        pl.when(earlier).then(pl.col("inside").shift(1)).fill_null(False).alias("was_inside"),
        pl.when(earlier).then(pl.col("amount").shift(1)).alias("was_amount"),
    )

    def pipeline_before(moment: datetime) -> pl.DataFrame:
        return (
            events.filter(pl.col("at") < moment)
            .filter(_ends())
            .filter(pl.col("inside"))
            .select("opportunity_id", "amount")
            .sort("opportunity_id")
        )

    window = events.filter((pl.col("at") >= start) & (pl.col("at") < end))
    inside, was = pl.col("inside"), pl.col("was_inside")
    changed = was & pl.col("amount").is_not_null() & (pl.col("amount") != pl.col("was_amount"))
    delta = (pl.col("amount") - pl.col("was_amount")).cast(MONEY)
    resize = window.filter(changed).select(
        "opportunity_id",
        "at",
        pl.when(delta > 0).then(pl.lit("increased")).otherwise(pl.lit("decreased")).alias("flow"),
        pl.lit(0, dtype=pl.Int64).alias("count"),
        delta.alias("amount"),
    )
    enter = window.filter(~was & inside).select(
        "opportunity_id",
        "at",
        pl.when(pl.col("creation"))
        .then(pl.lit("created"))
        .otherwise(pl.lit("pulled_in"))
        .alias("flow"),
        pl.lit(1, dtype=pl.Int64).alias("count"),
        pl.col("amount").cast(MONEY),
    )
    after = _in_scope(pl.col("close_date"), None, scope_to)
    leave = window.filter(was & ~inside).select(
        "opportunity_id",
        "at",
        pl.when(pl.col("kind") == "won")
        .then(pl.lit("won"))
        .when(pl.col("kind") == "lost")
        .then(pl.lit("lost"))
        .when((pl.col("kind") == "open") & pl.col("close_date").is_not_null() & ~after)
        .then(pl.lit("pushed_out"))
        .otherwise(pl.lit("moved_out"))
        .alias("flow"),
        pl.lit(-1, dtype=pl.Int64).alias("count"),
        (-pl.col("amount").fill_null(pl.col("was_amount"))).cast(MONEY).alias("amount"),
    )
    flows = pl.concat([resize, enter, leave]).sort("at", "opportunity_id")
    return pipeline_before(start), flows, pipeline_before(end)


def waterfall(
    transitions: pl.DataFrame,
    changes: pl.DataFrame,
    *,
    start: datetime,
    end: datetime,
    as_of: datetime,
    scope_from: date | None = None,
    scope_to: date | None = None,
) -> Waterfall:
    """The waterfall's bars between ``start`` and ``end`` (see the module docstring)."""
    opening, flows, closing = waterfall_flows(
        transitions,
        changes,
        start=start,
        end=end,
        as_of=as_of,
        scope_from=scope_from,
        scope_to=scope_to,
    )
    sums = {
        row["flow"]: row
        for row in flows.group_by("flow")
        .agg(
            pl.col("opportunity_id").n_unique().alias("deals"),
            pl.col("count").sum(),
            pl.col("amount").sum(),
        )
        .iter_rows(named=True)
    }
    bars = [Bar("opening", opening.height, opening.height, _money(opening["amount"].sum()))]
    for key in FLOWS:
        row = sums.get(key)
        if row is None:
            bars.append(Bar(key, 0, 0, ZERO))
        else:
            bars.append(Bar(key, int(row["deals"]), int(row["count"]), _money(row["amount"])))
    bars.append(Bar("closing", closing.height, closing.height, _money(closing["amount"].sum())))
    return Waterfall(start, end, tuple(bars))
