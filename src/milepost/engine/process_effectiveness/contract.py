"""What process effectiveness reads: three plain frames and the process definition.

The Django side builds each frame with one set-based query over tables that already exist
(``pipeline.Opportunity``, ``pipeline.StageTransition``, ``evidence.Evidence`` /
``EvidenceEvent`` and the transitions' ``criteria_result``) for **one process version**; the
engine checks the frames here (:func:`checked_frames`) and never reads anything else.

Why these frames and not others:

* **Transitions, not exits.** Exits, times in stage and skips are all derived from the ordered
  transitions (:func:`stage_visits`), so the three can never disagree with each other, and the
  Django side has nothing to compute: it is ``StageTransition`` as stored. ``from_stage`` is not
  asked for: the stage a move leaves is the one the previous move entered, by definition.
* **Deals carry the outcome.** A deal's outcome is its current stage kind (won / lost / open);
  the lost reason is ``Opportunity.lost_reason``. ``amount`` (in the process currency) only
  ranks suggestions by the money they touch.
* **Criteria at one exit per deal and stage.** A deal that bounced back into a stage exits it
  more than once; only its *last forward exit* counts (:func:`criterion_exit_moments` lists
  them, so the Django side evaluates criteria only at those moments). That is the state the deal
  went on to its outcome with, and every deal weighs the same however often it bounced.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl

from milepost.engine.process_schema import ProcessDef

UTC_TIME = pl.Datetime("us", "UTC")

OUTCOMES: tuple[str, ...] = ("won", "lost", "open")
EVIDENCE_LEVELS: tuple[str, ...] = ("rep", "manager", "buyer")

DEALS_SCHEMA: dict[str, Any] = {
    # The deal (Opportunity.pk). One row per deal of the process version in scope.
    "deal_id": pl.Int64,
    # "won" | "lost" | "open": the kind of the deal's current stage.
    "outcome": pl.String,
    # Opportunity.lost_reason; null or blank counts as "not given".
    "lost_reason": pl.String,
    # The deal's amount in the process currency (null counts as 0): ranks suggestions by money.
    "amount": pl.Float64,
}
"""One row per deal. Required: ``deal_id``, ``outcome``. ``lost_reason``, ``amount`` nullable."""

TRANSITIONS_SCHEMA: dict[str, Any] = {
    # StageTransition.pk: orders two moves of one deal recorded at the same moment.
    "transition_id": pl.Int64,
    "deal_id": pl.Int64,
    # The stage key entered (StageTransition.to_stage.key); the first row is the creation.
    "to_stage": pl.String,
    "moved_at": UTC_TIME,
}
"""Every ``StageTransition`` of the deals in :data:`DEALS_SCHEMA`, none of them nullable.
Times here and in :data:`CRITERIA_SCHEMA` are UTC; naive datetimes are read as UTC."""

CRITERIA_SCHEMA: dict[str, Any] = {
    "deal_id": pl.Int64,
    # The stage left and the moment it was left: a row of :func:`criterion_exit_moments`.
    "stage_key": pl.String,
    "exited_at": UTC_TIME,
    # An exit criterion of that stage (ExitCriterionDef.id).
    "criterion_id": pl.String,
    # Met at the exit (evidence.combine's status == met; unknown counts as not met, as the
    # gate counts it). For a gated move, the transition's criteria_result says it directly.
    "met": pl.Boolean,
    # When the criterion first became met (evidence history / rule facts); null if never.
    # After ``exited_at`` means met late: the deal moved on before the outcome was reached.
    "first_met_at": UTC_TIME,
    # The exit went through a ``warn`` gate with a justification while this criterion was
    # unmet (see :func:`gate_waivers`).
    "waived": pl.Boolean,
    # Level of the active (not rejected) evidence at the exit: rep | manager | buyer; null
    # without evidence.
    "evidence_level": pl.String,
}
"""One row per (deal, stage exit, criterion) at the exits :func:`criterion_exit_moments` lists.
Rows for other moments are ignored; an exit without a row counts as ``unrecorded``."""

_REQUIRED = {
    "deals": ("deal_id", "outcome"),
    "transitions": tuple(TRANSITIONS_SCHEMA),
    "criteria": ("deal_id", "stage_key", "exited_at", "criterion_id", "met", "waived"),
}


class EffectivenessInputError(ValueError):
    """A frame breaks the contract (missing column, unknown key, null where none may be)."""


@dataclass(frozen=True, slots=True)
class EffectivenessSettings:
    """Thresholds of the figures and the suggestions (docs/analytics-process-effectiveness.md).

    ``min_group``: fewer closed deals than this on either side of a comparison → "too few
    deals", no verdict. ``margin``: a difference whose whole 95% interval lies within ±margin
    "does not separate". ``min_visits``: completed visits a stage needs before its time in stage
    backs a suggestion. ``far_factor``: max_days is "far below" its p80 when p80 ≥ far_factor x
    max_days. ``late_share`` / ``waived_share``: share of not-met exits met late, of exits
    waived, from which a criterion is suggested to move / to be enforced.
    ``rank_by``: "amount" (money of the deals behind a suggestion) or "count" (deals).
    """

    min_group: int = 10
    margin: float = 0.10
    min_visits: int = 30
    far_factor: float = 1.5
    late_share: float = 0.5
    waived_share: float = 0.2
    rank_by: str = "amount"

    def __post_init__(self) -> None:
        if self.min_group < 1 or self.min_visits < 1:
            raise ValueError("min_group and min_visits must be at least 1")
        if not 0 < self.margin < 1 or self.far_factor <= 1:
            raise ValueError("need 0 < margin < 1 and far_factor > 1")
        if not 0 < self.late_share <= 1 or not 0 < self.waived_share <= 1:
            raise ValueError("late_share and waived_share are shares in (0, 1]")
        if self.rank_by not in ("amount", "count"):
            raise ValueError("rank_by is 'amount' or 'count'")


def gate_waivers(criteria_result: Mapping[str, Any] | None) -> frozenset[str]:
    """The criterion ids a transition's ``criteria_result`` (inspection/gates.py) waived.

    A waiver is a *forward* move under the ``warn`` policy, with a justification, past unmet
    criteria: each unmet one is waived. ``block`` lets nothing unmet through; ``open`` moves
    past unmet criteria without anyone saying why, which is "not met at exit", not a waiver.
    Moves back and to lost claim nothing and waive nothing.
    """
    if not criteria_result:
        return frozenset()
    if criteria_result.get("policy") != "warn" or not criteria_result.get("forward"):
        return frozenset()
    if not str(criteria_result.get("justification") or "").strip():
        return frozenset()
    unmet = criteria_result.get("unmet") or []
    return frozenset(
        str(u["criterion"]) for u in unmet if isinstance(u, Mapping) and u.get("criterion")
    )


def met_at_gate(
    criteria_result: Mapping[str, Any] | None, criterion_ids: Sequence[str]
) -> dict[str, bool] | None:
    """Met or not, per criterion of the stage left, as a gated forward move recorded it.

    A forward move's ``criteria_result`` lists every unmet criterion of the stages it claims
    passed (``unmet``) and counts the met ones; so a criterion of the stage left is met exactly
    when it is not listed. None when the transition carries no forward result (ungated moves,
    imports, synthetic history): the caller then decides from the evidence history.
    """
    if not criteria_result or not criteria_result.get("forward"):
        return None
    unmet = {
        str(u.get("criterion"))
        for u in criteria_result.get("unmet") or []
        if isinstance(u, Mapping)
    }
    return {c: c not in unmet for c in criterion_ids}


@dataclass(frozen=True, slots=True)
class StageOrder:
    """Positions of a process's stages: open stages ``0 .. K-1`` in order, won stages ``K``,
    lost stages none (a loss is not progress)."""

    open_keys: tuple[str, ...]
    won_keys: frozenset[str]
    lost_keys: frozenset[str]

    @staticmethod
    def of(process: ProcessDef) -> StageOrder:
        return StageOrder(
            tuple(s.key for s in process.open_stages),
            frozenset(s.key for s in process.stages if s.kind == "won"),
            frozenset(s.key for s in process.stages if s.kind == "lost"),
        )

    def positions(self) -> dict[str, int | None]:
        pos: dict[str, int | None] = {k: i for i, k in enumerate(self.open_keys)}
        pos.update({k: len(self.open_keys) for k in self.won_keys})
        pos.update({k: None for k in self.lost_keys})
        return pos


def _frame(name: str, frame: pl.DataFrame, schema: Mapping[str, Any]) -> pl.DataFrame:
    missing = [c for c in _REQUIRED[name] if c not in frame.columns]
    if missing:
        raise EffectivenessInputError(f"{name}: missing columns {', '.join(missing)}")
    try:
        out = frame.select(
            [
                pl.col(c).cast(dtype) if c in frame.columns else pl.lit(None, dtype).alias(c)
                for c, dtype in schema.items()
            ]
        )
    except (pl.exceptions.InvalidOperationError, pl.exceptions.ComputeError) as exc:
        raise EffectivenessInputError(f"{name}: a column does not cast to its type: {exc}") from exc
    nulls = [c for c in _REQUIRED[name] if out[c].null_count()]
    if nulls:
        raise EffectivenessInputError(f"{name}: nulls in {', '.join(nulls)}")
    return out


def _unknown(name: str, column: pl.Series, allowed: Sequence[str]) -> None:
    stray = sorted(set(column.drop_nulls().unique().to_list()) - set(allowed))
    if stray:
        raise EffectivenessInputError(
            f"{name}: unknown {column.name} {', '.join(map(repr, stray[:5]))}"
        )


@dataclass(frozen=True)
class CheckedFrames:
    """The three frames cast to their schemas, validated, and sorted by their keys, so that
    every figure (floating sums included) is the same whatever order the rows came in."""

    deals: pl.DataFrame
    transitions: pl.DataFrame
    criteria: pl.DataFrame


def checked_frames(
    process: ProcessDef,
    deals: pl.DataFrame,
    transitions: pl.DataFrame,
    criteria: pl.DataFrame | None = None,
) -> CheckedFrames:
    """Cast and check the frames; raise :class:`EffectivenessInputError` naming the problem."""
    d = _frame("deals", deals, DEALS_SCHEMA)
    t = _frame("transitions", transitions, TRANSITIONS_SCHEMA)
    if criteria is None:
        criteria = pl.DataFrame(schema=CRITERIA_SCHEMA)
    c = _frame("criteria", criteria, CRITERIA_SCHEMA)
    _unknown("deals", d["outcome"], OUTCOMES)
    if d["deal_id"].is_duplicated().any():
        raise EffectivenessInputError("deals: a deal_id repeats")
    if t["transition_id"].is_duplicated().any():
        raise EffectivenessInputError("transitions: a transition_id repeats")
    _unknown("transitions", t["to_stage"], [s.key for s in process.stages])
    stray = t.join(d, on="deal_id", how="anti")
    if stray.height:
        raise EffectivenessInputError(
            f"transitions: deal {stray['deal_id'][0]} is not in the deals frame"
        )
    criterion_stage = {cr.id: s.key for s in process.open_stages for cr in s.exit_criteria}
    _unknown("criteria", c["criterion_id"], list(criterion_stage))
    _unknown("criteria", c["evidence_level"], EVIDENCE_LEVELS)
    wrong = c.filter(
        pl.col("criterion_id").replace_strict(criterion_stage, default=None) != pl.col("stage_key")
    )
    if wrong.height:
        row = wrong.row(0, named=True)
        raise EffectivenessInputError(
            f"criteria: {row['criterion_id']!r} is not an exit criterion of {row['stage_key']!r}"
        )
    if c.select(["deal_id", "stage_key", "exited_at", "criterion_id"]).is_duplicated().any():
        raise EffectivenessInputError("criteria: a (deal, stage, exit, criterion) row repeats")
    return CheckedFrames(
        d.with_columns(pl.col("amount").fill_null(0.0)).sort("deal_id"),
        _without_repeats(t.sort("deal_id", "moved_at", "transition_id")),
        c.sort("deal_id", "stage_key", "exited_at", "criterion_id"),
    )


def _without_repeats(sorted_transitions: pl.DataFrame) -> pl.DataFrame:
    """Drop a move into the stage the deal is already in (a process-version change re-enters
    the same key): it does not end the visit, and it is no step forward or back."""
    same_deal = pl.col("deal_id").shift(1) == pl.col("deal_id")
    repeat = same_deal & (pl.col("to_stage").shift(1) == pl.col("to_stage"))
    return sorted_transitions.filter(~repeat.fill_null(False))


def stage_visits(process: ProcessDef, transitions: pl.DataFrame) -> pl.DataFrame:
    """Every visit of an open stage: one row per transition into an open stage.

    Columns: ``deal_id``, ``stage_key``, ``position`` (open stage index), ``entered_at``,
    ``exited_at`` (null: still there), ``next_stage`` (null: still there), ``direction``
    (``forward`` to a later open stage or won, ``back``, ``lost``, null while still there),
    ``days`` (whole days in the stage, as engine/stage_time counts them; null while there).
    ``transitions`` must follow :data:`TRANSITIONS_SCHEMA`; a move into the stage the deal is
    already in does not end its visit.
    """
    order = StageOrder.of(process)
    pos = order.positions()
    t = _without_repeats(
        _frame("transitions", transitions, TRANSITIONS_SCHEMA).sort(
            "deal_id", "moved_at", "transition_id"
        )
    )
    pos_expr = pl.col("to_stage").replace_strict(pos, default=None, return_dtype=pl.Int64)
    lost = pl.col("next_stage").is_in(list(order.lost_keys))
    # Sorted by deal: the next row is the deal's next move when it is the same deal (a plain
    # shift is several times faster than a window over deal_id).
    same_deal = pl.col("deal_id").shift(-1) == pl.col("deal_id")
    return (
        t.with_columns(
            position=pos_expr,
            next_stage=pl.when(same_deal).then(pl.col("to_stage").shift(-1)),
            exited_at=pl.when(same_deal).then(pl.col("moved_at").shift(-1)),
        )
        .with_columns(
            next_position=pl.col("next_stage").replace_strict(
                pos, default=None, return_dtype=pl.Int64
            )
        )
        .filter(pl.col("to_stage").is_in(list(order.open_keys)))
        .select(
            "deal_id",
            pl.col("to_stage").alias("stage_key"),
            "position",
            pl.col("moved_at").alias("entered_at"),
            "exited_at",
            "next_stage",
            pl.when(pl.col("next_stage").is_null())
            .then(None)
            .when(lost)
            .then(pl.lit("lost"))
            .when(pl.col("next_position") > pl.col("position"))
            .then(pl.lit("forward"))
            .otherwise(pl.lit("back"))
            .alias("direction"),
            (pl.col("exited_at") - pl.col("moved_at"))
            .dt.total_days()
            .clip(lower_bound=0)
            .alias("days"),
        )
    )


def criterion_exit_moments(process: ProcessDef, transitions: pl.DataFrame) -> pl.DataFrame:
    """The (deal, stage, exit moment, criterion) rows the criteria frame must describe.

    One per exit criterion at each deal's **last forward exit** of each stage: evaluate the
    criterion as of ``exited_at`` (and look up the exit transition's waiver) for exactly these.
    Columns: ``deal_id``, ``stage_key``, ``exited_at``, ``criterion_id``.
    """
    criteria = pl.DataFrame(
        {
            "stage_key": [s.key for s in process.open_stages for _ in s.exit_criteria],
            "criterion_id": [c.id for s in process.open_stages for c in s.exit_criteria],
        },
        schema={"stage_key": pl.String, "criterion_id": pl.String},
    )
    return (
        last_forward_exits(stage_visits(process, transitions))
        .select("deal_id", "stage_key", "exited_at")
        .join(criteria, on="stage_key", how="inner")
        .sort("deal_id", "stage_key", "criterion_id")
    )


def last_forward_exits(visits: pl.DataFrame) -> pl.DataFrame:
    """Each deal's last forward exit of each stage (rows of :func:`stage_visits`)."""
    return (
        visits.filter(pl.col("direction") == "forward")
        .sort("deal_id", "exited_at", maintain_order=True)
        .unique(subset=["deal_id", "stage_key"], keep="last", maintain_order=True)
        .sort("deal_id", "stage_key")
    )


def as_utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime (naive means UTC, as everywhere in the engine)."""
    from datetime import UTC

    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
