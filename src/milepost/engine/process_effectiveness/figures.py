"""The figures: per exit criterion (does it tell wins from losses?) and per stage (where deals
die, stall and are skipped). Every count is of *deals* unless it says visits or transitions.

Which deals each figure counts, and why:

* **Criteria** count each deal's last forward exit of the stage (see ``contract``), and
  compare win rates over the deals that are now **closed**: an open deal has no outcome yet.
  Deals lost *in* the stage are not in it: they never passed its gate, and counting them would
  make every criterion look predictive (a deal dropped in discovery has its discovery criteria
  unmet because it was dropped). Their story is the stage's loss figures.
* **Loss**: of the closed deals that visited the stage, how many were lost straight from it
  (``lost_here``), lost elsewhere (a later stage, or an earlier one after going back) or won;
  the three add up to ``closed``.
* **Stall**: every completed visit counts (a deal that came back is slow twice); days are whole
  days as the "stalled in stage" signal counts them, so "over max_days" here is exactly what
  inspection would have flagged.
* **Skips**: a forward transition jumps over the stage when it leaves a stage before it (or
  creates the deal) and enters one after it (or won). Skippers are compared with the deals that
  got past the stage by going through it, both closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl

from milepost.engine.process_effectiveness.contract import (
    EVIDENCE_LEVELS,
    CheckedFrames,
    EffectivenessSettings,
    StageOrder,
    as_utc,
    last_forward_exits,
    stage_visits,
)
from milepost.engine.process_effectiveness.stats import Comparison, Rate, quantile
from milepost.engine.process_schema import ProcessDef

NOT_GIVEN = ""
"""The lost-reason key of deals lost without a reason (null or blank)."""


@dataclass(frozen=True, slots=True)
class CriterionFigures:
    """One exit criterion over the closed deals that left its stage forward.

    ``exits`` = ``met`` + ``not_met`` + ``unrecorded`` (no criteria row for the exit);
    ``comparison`` is win rate with the criterion met (``with_``) against not met
    (``without``). ``met_late``: of ``not_met``, how many became met after the exit.
    ``waived``: exits that went through a gate warning with it unmet. ``levels``: evidence
    level at the exit, ``"none"`` included, over all ``exits``. ``open_exits``: forward exits
    of deals still open (not in any rate). ``deal_ids``: the closed deals behind the figures.
    """

    stage: str
    criterion: str
    exits: int
    met: int
    not_met: int
    unrecorded: int
    comparison: Comparison
    met_late: int
    waived: int
    levels: tuple[tuple[str, int], ...]
    open_exits: int
    deal_ids: tuple[int, ...]

    @property
    def buyer_confirmed(self) -> int:
        return dict(self.levels).get("buyer", 0)


@dataclass(frozen=True, slots=True)
class StageFigures:
    """One open stage. Deal counts: ``visitors`` (deals that were ever in it), ``closed`` of
    them = ``won`` + ``lost_here`` + ``lost_elsewhere``; ``loss_here`` is ``lost_here`` of
    ``closed`` with its Wilson interval; ``lost_reasons`` counts the reasons of ``lost_here``
    (``""``: not given), most frequent first.

    Visits: ``completed_visits`` (left the stage), their days in stage ``days_p50`` /
    ``days_p80`` (None without visits), ``over_max`` of them above ``max_days`` (None when the
    stage has none); ``open_now`` deals in the stage now, ``open_over_max`` of them past
    ``max_days`` at ``as_of`` (None without ``as_of`` or ``max_days``).

    Skips: ``skip_transitions`` jumps over the stage, by ``skippers`` deals;
    ``skip_comparison`` is the closed skippers' win rate (``with_``) against the closed deals
    that went through the stage (``without``).

    ``*_deal_ids``: the deals behind the loss figures (closed visitors), the stall figures
    (deals with a completed visit) and the skip comparison (closed skippers and goers-through).
    """

    stage: str
    position: int
    visitors: int
    closed: int
    won: int
    lost_here: int
    lost_elsewhere: int
    loss_here: Rate
    lost_reasons: tuple[tuple[str, int], ...]
    completed_visits: int
    days_p50: float | None
    days_p80: float | None
    max_days: int | None
    over_max: int | None
    open_now: int
    open_over_max: int | None
    skip_transitions: int
    skippers: int
    skip_comparison: Comparison
    loss_deal_ids: tuple[int, ...]
    stall_deal_ids: tuple[int, ...]
    skip_deal_ids: tuple[int, ...]


def _ids(frame: pl.DataFrame) -> tuple[int, ...]:
    return tuple(sorted(frame["deal_id"].unique().to_list()))


def criterion_figures(
    process: ProcessDef, frames: CheckedFrames, settings: EffectivenessSettings
) -> list[CriterionFigures]:
    """:class:`CriterionFigures` for every exit criterion of every open stage, in process order."""
    exits = last_forward_exits(stage_visits(process, frames.transitions)).join(
        frames.deals.select("deal_id", "outcome"), on="deal_id", how="inner"
    )
    rows = exits.join(
        frames.criteria,
        on=["deal_id", "stage_key", "exited_at"],
        how="left",
    )
    out: list[CriterionFigures] = []
    for stage in process.open_stages:
        stage_exits = exits.filter(pl.col("stage_key") == stage.key)
        closed_exits = stage_exits.filter(pl.col("outcome") != "open")
        open_exits = stage_exits.height - closed_exits.height
        for criterion in stage.exit_criteria:
            recorded = rows.filter(
                (pl.col("stage_key") == stage.key)
                & (pl.col("criterion_id") == criterion.id)
                & (pl.col("outcome") != "open")
            )
            met = recorded.filter(pl.col("met"))
            not_met = recorded.filter(~pl.col("met"))
            won = pl.col("outcome") == "won"
            late = not_met.filter(
                pl.col("first_met_at").is_not_null()
                & (pl.col("first_met_at") > pl.col("exited_at"))
            ).height
            level_counts = dict(recorded.group_by("evidence_level").len().iter_rows())
            unrecorded = closed_exits.height - recorded.height
            levels = (
                *((level, int(level_counts.get(level, 0))) for level in EVIDENCE_LEVELS),
                ("none", int(level_counts.get(None, 0)) + unrecorded),
            )
            out.append(
                CriterionFigures(
                    stage=stage.key,
                    criterion=criterion.id,
                    exits=closed_exits.height,
                    met=met.height,
                    not_met=not_met.height,
                    unrecorded=unrecorded,
                    comparison=Comparison.of(
                        met.filter(won).height,
                        met.height,
                        not_met.filter(won).height,
                        not_met.height,
                        min_group=settings.min_group,
                        margin=settings.margin,
                    ),
                    met_late=late,
                    waived=recorded.filter(pl.col("waived")).height,
                    levels=levels,
                    open_exits=open_exits,
                    deal_ids=_ids(closed_exits),
                )
            )
    return out


def _jumps(process: ProcessDef, transitions: pl.DataFrame) -> pl.DataFrame:
    """Transitions with the position left (``from_pos``; -1 for the creation, null after a
    loss) and entered (``to_pos``; null for a loss)."""
    pos = StageOrder.of(process).positions()
    to_pos = pl.col("to_stage").replace_strict(pos, default=None, return_dtype=pl.Int64)
    # ``transitions`` is sorted by deal, time and id (CheckedFrames): row order is move order.
    first = pl.int_range(pl.len()).over("deal_id") == 0
    return transitions.with_columns(to_pos=to_pos).with_columns(
        from_pos=pl.when(first)
        .then(pl.lit(-1, pl.Int64))
        .otherwise(pl.col("to_pos").shift(1).over("deal_id"))
    )


def stage_figures(
    process: ProcessDef,
    frames: CheckedFrames,
    settings: EffectivenessSettings,
    as_of: datetime | None = None,
) -> list[StageFigures]:
    """:class:`StageFigures` for every open stage, in process order."""
    deals = frames.deals
    visits = stage_visits(process, frames.transitions).join(
        deals.select("deal_id", "outcome"), on="deal_id", how="inner"
    )
    # The stage each lost deal was lost from: the visit its last move to a lost stage left.
    lost_from = (
        visits.filter((pl.col("direction") == "lost") & (pl.col("outcome") == "lost"))
        .sort("deal_id", "exited_at")
        .group_by("deal_id", maintain_order=True)
        .last()
        .select("deal_id", pl.col("stage_key").alias("lost_from"))
    )
    jumps = _jumps(process, frames.transitions)
    outcome = deals.select("deal_id", "outcome")
    closed = pl.col("outcome") != "open"
    won = pl.col("outcome") == "won"
    as_of_utc = as_utc(as_of) if as_of is not None else None
    out: list[StageFigures] = []
    for position, stage in enumerate(process.open_stages):
        v = visits.filter(pl.col("stage_key") == stage.key)
        visitor_deals = v.select("deal_id").unique().join(deals, on="deal_id")
        closed_deals = visitor_deals.filter(closed).join(lost_from, on="deal_id", how="left")
        here = closed_deals.filter(pl.col("lost_from") == stage.key)
        n_won = closed_deals.filter(won).height
        reasons = (
            here.with_columns(
                pl.col("lost_reason").str.strip_chars().fill_null(NOT_GIVEN).alias("reason")
            )
            .group_by("reason")
            .len()
            .sort(["len", "reason"], descending=[True, False])
        )
        done = sorted(v.filter(pl.col("exited_at").is_not_null())["days"].to_list())
        max_days = stage.max_days
        over = None if max_days is None else sum(1 for d in done if d > max_days)
        now = v.filter(pl.col("exited_at").is_null())
        open_over: int | None = None
        if as_of_utc is not None and max_days is not None:
            open_over = now.filter(
                (
                    pl.lit(as_of_utc, dtype=pl.Datetime("us", "UTC")) - pl.col("entered_at")
                ).dt.total_days()
                > max_days
            ).height
        skips = jumps.filter(
            (pl.col("from_pos") < position)
            & (pl.col("to_pos") > position)
            & pl.col("from_pos").is_not_null()
        )
        skipper_ids = skips.select("deal_id").unique()
        passers = jumps.filter(pl.col("to_pos") > position).select("deal_id").unique()
        skippers_closed = skipper_ids.join(outcome, on="deal_id").filter(closed)
        through_closed = (
            passers.join(skipper_ids, on="deal_id", how="anti")
            .join(outcome, on="deal_id")
            .filter(closed)
        )
        out.append(
            StageFigures(
                stage=stage.key,
                position=position,
                visitors=visitor_deals.height,
                closed=closed_deals.height,
                won=n_won,
                lost_here=here.height,
                lost_elsewhere=closed_deals.height - n_won - here.height,
                loss_here=Rate.of(here.height, closed_deals.height),
                lost_reasons=tuple((str(r), int(n)) for r, n in reasons.iter_rows()),
                completed_visits=len(done),
                days_p50=quantile(done, 0.5),
                days_p80=quantile(done, 0.8),
                max_days=max_days,
                over_max=over,
                open_now=now.select("deal_id").n_unique(),
                open_over_max=open_over,
                skip_transitions=skips.height,
                skippers=skipper_ids.height,
                skip_comparison=Comparison.of(
                    skippers_closed.filter(won).height,
                    skippers_closed.height,
                    through_closed.filter(won).height,
                    through_closed.height,
                    min_group=settings.min_group,
                    margin=settings.margin,
                ),
                loss_deal_ids=_ids(closed_deals),
                stall_deal_ids=_ids(v.filter(pl.col("exited_at").is_not_null())),
                skip_deal_ids=tuple(
                    sorted(
                        skippers_closed["deal_id"].to_list() + through_closed["deal_id"].to_list()
                    )
                ),
            )
        )
    return out
