"""Conversion by cohort, the funnel, win rate and lead conversion, from stage transitions.

Everything here reads one frame of stage transitions (the append-only history, one row per
move, see :data:`TRANSITIONS_SCHEMA`) for one process, and never a snapshot of current stages:
a *cohort* is the deals that entered a stage in a period, followed to ``as_of``.

Definitions (docs/analytics.md says the same in words):

- A deal's *state* at a moment is the stage of its last transition at or before it. Rows after
  ``as_of`` are ignored, so a result is what was known then.
- A transition whose from and to stage have the same key (a process change moving the deal to
  the same stage of a new version) is not a move and is dropped.
- Stage *position*: open stages in process order are ``0 .. K-1``, a won stage is ``K``, a
  lost stage has none. A deal *advanced* from stage S when a later transition reached a
  position above S's (a later open stage or won; a skip counts).
- Periods are half-open ``[start, end)`` in UTC.

Every ratio comes with its sample size and a Wilson 95% interval; a ratio over fewer than
``min_sample`` deals is marked ``too_few`` so a page says so instead of a confident number.
Amounts are exact decimals (Polars ``Decimal``): sums of money never go through floats.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import polars as pl

from milepost.engine.frames import collect
from milepost.engine.intervals import wilson_interval

MONEY = pl.Decimal(38, 2)
TIME = pl.Datetime("us", "UTC")
TRANSITIONS_SCHEMA: dict[str, Any] = {
    "opportunity_id": pl.Int64,
    "from_stage": pl.String,
    "to_stage": pl.String,
    "to_kind": pl.String,  # open / won / lost
    "moved_at": TIME,
    "amount": MONEY,
    "close_date": pl.Date,
}
LEADS_SCHEMA: dict[str, Any] = {
    "lead_id": pl.Int64,
    "created_at": TIME,
    "converted_at": TIME,
    "outcome": pl.String,  # the opportunity's current kind (open / won / lost), null if none
}
MIN_SAMPLE = 10
SECONDS_PER_DAY = 86_400.0
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Ratio:
    """``successes`` out of ``n``, with a Wilson interval; ``value`` is None when ``n`` is 0."""

    successes: int
    n: int
    value: float | None
    low: float | None
    high: float | None
    too_few: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "successes": self.successes,
            "n": self.n,
            "value": self.value,
            "low": self.low,
            "high": self.high,
            "too_few": self.too_few,
        }


def ratio(successes: int, n: int, *, min_sample: int = MIN_SAMPLE) -> Ratio:
    """A :class:`Ratio` of ``successes`` out of ``n``."""
    if n == 0:
        return Ratio(successes, 0, None, None, None, True)
    low, high = wilson_interval(successes, n)
    return Ratio(successes, n, successes / n, low, high, n < min_sample)


@dataclass(frozen=True)
class StageOrder:
    """The open stages of a process in order, and which keys are won and lost stages."""

    open: tuple[str, ...]
    won: tuple[str, ...]
    lost: tuple[str, ...]

    @property
    def n_open(self) -> int:
        return len(self.open)

    def positions(self) -> dict[str, int]:
        """Position of every open and won stage key (won stages share ``K``)."""
        return {**{k: i for i, k in enumerate(self.open)}, **dict.fromkeys(self.won, self.n_open)}


def empty_transitions() -> pl.DataFrame:
    return pl.DataFrame(schema=TRANSITIONS_SCHEMA)


def history(transitions: pl.DataFrame, order: StageOrder, as_of: datetime) -> pl.DataFrame:
    """The transitions known at ``as_of``, as the maths reads them.

    Sorted by deal and time (rows at the same instant keep their input order); same-key rows
    dropped; ``seq`` numbers each deal's rows from 0; ``pos`` is the position of the stage
    entered (null for lost or unknown stages); ``first_at`` the deal's first transition (its
    creation). Everything after this relies on the sort (first and last rows of a deal are
    found by comparing neighbours, not by grouping).
    """
    frame = (
        transitions.lazy()
        .filter(pl.col("moved_at") <= as_of)
        .filter(pl.col("from_stage").is_null() | (pl.col("from_stage") != pl.col("to_stage")))
        .sort("opportunity_id", "moved_at", maintain_order=True)
        .with_columns(
            pl.int_range(pl.len(), dtype=pl.Int64).alias("__row"), _starts().alias("__new")
        )
        .with_columns(
            (pl.col("__row") - pl.when("__new").then("__row").forward_fill()).alias("seq"),
            pl.col("to_stage")
            .replace_strict(order.positions(), default=None, return_dtype=pl.Int64)
            .alias("pos"),
            pl.when("__new").then("moved_at").forward_fill().alias("first_at"),
        )
        .drop("__row", "__new")
    )
    return collect(frame, rows=transitions.height)


def prepared(frame: pl.DataFrame, order: StageOrder, as_of: datetime) -> pl.DataFrame:
    """``frame`` as :func:`history` returns it: raw transitions are prepared, a frame already
    prepared (it has ``seq``) is used as it is, so a report prepares the history once for all
    its figures."""
    return frame if "seq" in frame.columns else history(frame, order, as_of)


def _starts() -> pl.Expr:
    """True on the first row of each deal (the frame sorted by deal)."""
    deal = pl.col("opportunity_id")
    return (deal != deal.shift(1)).fill_null(True)


def _ends() -> pl.Expr:
    """True on the last row of each deal (the frame sorted by deal)."""
    deal = pl.col("opportunity_id")
    return (deal != deal.shift(-1)).fill_null(True)


def last_rows(hist: pl.DataFrame) -> pl.DataFrame:
    """Each deal's last row (its state at ``as_of``) of a sorted history."""
    return hist.filter(_ends())


def _days(expr: pl.Expr) -> pl.Expr:
    return expr.dt.total_microseconds().cast(pl.Float64) / (SECONDS_PER_DAY * 1e6)


def _median(values: pl.Series) -> float | None:
    value = values.median()
    return None if value is None else float(value)  # type: ignore[arg-type]


def _money(value: Any) -> Decimal:
    return ZERO if value is None else Decimal(value).quantize(ZERO)


# ---------------------------------------------------------------------------------------------
# Cohort conversion


@dataclass(frozen=True)
class StageCohort:
    """The deals that entered ``stage`` in the period, followed to ``as_of``."""

    stage: str
    entered: int
    entered_amount: Decimal
    advanced: int
    won: int
    won_amount: Decimal
    lost: int
    open: int
    advance_rate: Ratio
    win_rate: Ratio
    median_days_to_advance: float | None
    median_days_to_win: float | None


def cohort_entries(
    hist: pl.DataFrame, order: StageOrder, start: datetime, end: datetime
) -> pl.DataFrame:
    """One row per (deal, open stage) entered in ``[start, end)``: its first entry there.

    Columns: ``opportunity_id, stage, pos, seq, entered_at, amount, advanced_at, outcome,
    closed_at, closed_amount`` (``outcome`` is the deal's state at ``as_of``: open / won / lost;
    ``advanced_at`` the first later move to a higher position).
    """
    indexed = hist.with_row_index("__row")
    entries = (
        indexed.filter(
            (pl.col("to_kind") == "open")
            & pl.col("pos").is_not_null()
            & (pl.col("moved_at") >= start)
            & (pl.col("moved_at") < end)
        )
        .filter((pl.col("opportunity_id") * 64 + pl.col("pos")).is_first_distinct())
        .select(
            "__row",
            "opportunity_id",
            pl.col("to_stage").alias("stage"),
            "pos",
            "seq",
            pl.col("moved_at").alias("entered_at"),
            "amount",
        )
    )
    # The first later row above the entry's position: an as-of join per stage, forward from
    # the row after the entry, within the deal.
    parts = []
    for position in range(order.n_open):
        left = entries.filter(pl.col("pos") == position).with_columns(
            (pl.col("__row") + 1).alias("__from")
        )
        above = indexed.filter(pl.col("pos") > position).select(
            pl.col("__row").alias("__from"),
            pl.col("opportunity_id").alias("__deal"),
            pl.col("moved_at").alias("advanced_at"),
        )
        # Forward over the whole sorted frame (much faster than by deal); a match in another
        # deal means none in this one.
        matched = left.join_asof(above, on="__from", strategy="forward", check_sortedness=False)
        parts.append(
            matched.with_columns(
                pl.when(pl.col("__deal") == pl.col("opportunity_id")).then("advanced_at")
            ).drop("__from", "__deal")
        )
    schema = {**entries.schema, "advanced_at": hist.schema["moved_at"]}
    advanced = pl.concat(parts) if parts else pl.DataFrame(schema=schema)
    final = last_rows(hist).select(
        "opportunity_id",
        pl.col("to_kind").alias("outcome"),
        pl.when(pl.col("to_kind") != "open").then(pl.col("moved_at")).alias("closed_at"),
        pl.when(pl.col("to_kind") != "open").then(pl.col("amount")).alias("closed_amount"),
    )
    return (
        advanced.drop("__row")
        .join(final, on="opportunity_id", how="left")
        .sort("pos", "opportunity_id")
    )


def cohort_conversion(
    transitions: pl.DataFrame,
    order: StageOrder,
    *,
    start: datetime,
    end: datetime,
    as_of: datetime,
    min_sample: int = MIN_SAMPLE,
) -> list[StageCohort]:
    """For each open stage, the cohort that entered it in ``[start, end)``: how many advanced,
    were won, lost or are still open at ``as_of``, and the median days it took."""
    entries = cohort_entries(prepared(transitions, order, as_of), order, start, end)
    out = []
    for stage in order.open:
        rows = entries.filter(pl.col("stage") == stage)
        won = rows.filter(pl.col("outcome") == "won")
        adv = rows.filter(pl.col("advanced_at").is_not_null())
        n, n_adv, n_won = rows.height, adv.height, won.height
        out.append(
            StageCohort(
                stage=stage,
                entered=n,
                entered_amount=_money(rows["amount"].sum()),
                advanced=n_adv,
                won=n_won,
                won_amount=_money(won["closed_amount"].sum()),
                lost=rows.filter(pl.col("outcome") == "lost").height,
                open=rows.filter(pl.col("outcome") == "open").height,
                advance_rate=ratio(n_adv, n, min_sample=min_sample),
                win_rate=ratio(n_won, n, min_sample=min_sample),
                median_days_to_advance=_median(
                    adv.select(_days(pl.col("advanced_at") - pl.col("entered_at"))).to_series()
                ),
                median_days_to_win=_median(
                    won.select(_days(pl.col("closed_at") - pl.col("entered_at"))).to_series()
                ),
            )
        )
    return out


# ---------------------------------------------------------------------------------------------
# Funnel and win rate


@dataclass(frozen=True)
class FunnelStep:
    """Deals created in the period that reached ``stage`` (or further), by count and amount.

    ``amount`` is the amount recorded on the transition that first reached the stage (for won:
    the amount won). ``of_created`` is the share of the cohort, ``from_previous`` the step's
    conversion from the step before.
    """

    stage: str
    kind: str
    deals: int
    amount: Decimal
    of_created: Ratio
    from_previous: Ratio
    amount_of_created: float | None


def funnel_reached(
    hist: pl.DataFrame, order: StageOrder, start: datetime, end: datetime
) -> pl.DataFrame:
    """One row per (deal created in the period, position it reached): ``opportunity_id, pos,
    amount`` (the amount on the first row reaching at least that position)."""
    rows = hist.filter(
        (pl.col("first_at") >= start) & (pl.col("first_at") < end) & pl.col("pos").is_not_null()
    )
    steps = [
        rows.filter(pl.col("pos") >= step)
        .filter(_starts())
        .select("opportunity_id", pl.lit(step, dtype=pl.Int64).alias("pos"), "amount")
        for step in range(order.n_open + 1)
    ]
    return pl.concat(steps).sort("pos", "opportunity_id")


def funnel(
    transitions: pl.DataFrame,
    order: StageOrder,
    *,
    start: datetime,
    end: datetime,
    as_of: datetime,
    won_label: str = "won",
    min_sample: int = MIN_SAMPLE,
) -> list[FunnelStep]:
    """The funnel from the first stage to won of the deals created in ``[start, end)``."""
    reached = funnel_reached(prepared(transitions, order, as_of), order, start, end)
    counts = reached.group_by("pos").agg(pl.len().alias("deals"), pl.col("amount").sum())
    by_pos = {row["pos"]: row for row in counts.iter_rows(named=True)}
    created = int(by_pos.get(0, {}).get("deals", 0))
    created_amount = _money(by_pos.get(0, {}).get("amount"))
    out: list[FunnelStep] = []
    previous = created
    for pos in range(order.n_open + 1):
        deals = int(by_pos.get(pos, {}).get("deals", 0))
        amount = _money(by_pos.get(pos, {}).get("amount"))
        out.append(
            FunnelStep(
                stage=order.open[pos] if pos < order.n_open else won_label,
                kind="open" if pos < order.n_open else "won",
                deals=deals,
                amount=amount,
                of_created=ratio(deals, created, min_sample=min_sample),
                from_previous=ratio(deals, previous, min_sample=min_sample),
                amount_of_created=float(amount / created_amount) if created_amount else None,
            )
        )
        previous = deals
    return out


@dataclass(frozen=True)
class WinRate:
    """Deals closed in the period: won out of closed, by count (with an interval) and amount."""

    won: int
    lost: int
    won_amount: Decimal
    lost_amount: Decimal
    by_count: Ratio
    by_amount: float | None


def closed_in(hist: pl.DataFrame, start: datetime, end: datetime) -> pl.DataFrame:
    """Deals whose state at ``as_of`` is won or lost, closed (their last move) in the period:
    ``opportunity_id, outcome, closed_at, amount, first_at``."""
    return (
        last_rows(hist)
        .filter(
            pl.col("to_kind").is_in(["won", "lost"])
            & (pl.col("moved_at") >= start)
            & (pl.col("moved_at") < end)
        )
        .select(
            "opportunity_id",
            pl.col("to_kind").alias("outcome"),
            pl.col("moved_at").alias("closed_at"),
            "amount",
            "first_at",
        )
    )


def win_rate(
    transitions: pl.DataFrame,
    order: StageOrder,
    *,
    start: datetime,
    end: datetime,
    as_of: datetime,
    min_sample: int = MIN_SAMPLE,
) -> WinRate:
    """Win rate of the deals closed in ``[start, end)``, by count and by amount (the amount on
    the closing transition)."""
    return win_rate_of(closed_in(prepared(transitions, order, as_of), start, end), min_sample)


def win_rate_of(closed: pl.DataFrame, min_sample: int = MIN_SAMPLE) -> WinRate:
    won = closed.filter(pl.col("outcome") == "won")
    lost = closed.filter(pl.col("outcome") == "lost")
    won_amount, lost_amount = _money(won["amount"].sum()), _money(lost["amount"].sum())
    total = won_amount + lost_amount
    return WinRate(
        won=won.height,
        lost=lost.height,
        won_amount=won_amount,
        lost_amount=lost_amount,
        by_count=ratio(won.height, closed.height, min_sample=min_sample),
        by_amount=float(won_amount / total) if total else None,
    )


# ---------------------------------------------------------------------------------------------
# Leads


@dataclass(frozen=True)
class LeadFunnel:
    """Leads created in the period: how many became opportunities, and how many were won."""

    leads: int
    converted: int
    won: int
    lead_to_opportunity: Ratio
    opportunity_to_won: Ratio
    lead_to_won: Ratio


def lead_funnel(
    leads: pl.DataFrame,
    *,
    start: datetime,
    end: datetime,
    as_of: datetime,
    min_sample: int = MIN_SAMPLE,
) -> LeadFunnel:
    """Lead → opportunity → won for the leads created in ``[start, end)`` (state at ``as_of``).

    ``leads``: :data:`LEADS_SCHEMA`; a lead counts as converted when it was converted by
    ``as_of``, and as won when its opportunity is won.
    """
    cohort = leads.filter((pl.col("created_at") >= start) & (pl.col("created_at") < end))
    converted = cohort.filter(
        pl.col("converted_at").is_not_null() & (pl.col("converted_at") <= as_of)
    )
    won = converted.filter(pl.col("outcome") == "won").height
    n, c = cohort.height, converted.height
    return LeadFunnel(
        leads=n,
        converted=c,
        won=won,
        lead_to_opportunity=ratio(c, n, min_sample=min_sample),
        opportunity_to_won=ratio(won, c, min_sample=min_sample),
        lead_to_won=ratio(won, n, min_sample=min_sample),
    )
