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

The deals behind every figure are in three frames (:class:`DealFrames`), so a page can open
them ("show me the deals") without the figures holding millions of ids.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl

from milepost.engine.process_effectiveness.contract import (
    EVIDENCE_LEVELS,
    CheckedFrames,
    EffectivenessSettings,
    StageOrder,
    as_utc,
    last_forward_exits,
)
from milepost.engine.process_effectiveness.stats import Comparison, Rate, quantile
from milepost.engine.process_schema import ProcessDef

NOT_GIVEN = ""
"""The lost-reason key of deals lost without a reason (null or blank)."""

_WON = pl.col("outcome") == "won"
_CLOSED = pl.col("outcome") != "open"


@dataclass(frozen=True, slots=True)
class CriterionFigures:
    """One exit criterion over the closed deals that left its stage forward.

    ``exits`` = ``met`` + ``not_met`` + ``unrecorded`` (no criteria row for the exit);
    ``comparison`` is win rate with the criterion met (``with_``) against not met
    (``without``). ``met_late``: of ``not_met``, how many became met after the exit.
    ``waived``: exits that went through a gate warning with it unmet. ``levels``: evidence
    level at the exit, ``"none"`` included, over all ``exits``. ``open_exits``: forward exits
    of deals still open (not in any rate). ``amount``: the money of the ``exits`` deals.
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
    amount: float

    @property
    def buyer_confirmed(self) -> int:
        return dict(self.levels).get("buyer", 0)


@dataclass(frozen=True, slots=True)
class StageFigures:
    """One open stage. Deal counts: ``visitors`` (deals that were ever in it), ``closed`` of
    them = ``won`` + ``lost_here`` + ``lost_elsewhere``; ``lost_after`` (part of
    ``lost_elsewhere``, the rest lost from an earlier stage after going back) were lost from a
    later stage. ``loss_here`` / ``loss_after`` are those of ``closed`` with their Wilson
    intervals; ``lost_reasons`` counts the reasons of ``lost_here`` (``""``: not given), most
    frequent first.

    Visits: ``completed_visits`` (left the stage), their days in stage ``days_p50`` /
    ``days_p80`` (None without visits), ``over_max`` of them above ``max_days`` (None when the
    stage has none); ``open_now`` deals in the stage now, ``open_over_max`` of them past
    ``max_days`` at ``as_of`` (None without ``as_of`` or ``max_days``).

    Skips: ``skip_transitions`` jumps over the stage, by ``skippers`` of the ``passers`` (deals
    that got past the stage, open ones included; :attr:`skip_share`);
    ``skip_comparison`` is the closed skippers' win rate (``with_``) against the closed deals
    that went through the stage (``without``).

    Money (ranks suggestions): ``stall_deals`` / ``stall_amount`` of the deals with a completed
    visit, ``skip_amount`` of the deals in ``skip_comparison``.
    """

    stage: str
    position: int
    visitors: int
    closed: int
    won: int
    lost_here: int
    lost_elsewhere: int
    lost_after: int
    loss_after: Rate
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
    passers: int
    skip_comparison: Comparison
    stall_deals: int
    stall_amount: float
    skip_amount: float

    @property
    def over_max_share(self) -> float | None:
        """Share of completed visits over max_days (None without max_days or visits)."""
        if self.over_max is None or not self.completed_visits:
            return None
        return self.over_max / self.completed_visits

    @property
    def skip_share(self) -> float | None:
        """Share of the deals that got past the stage by jumping over it."""
        return self.skippers / self.passers if self.passers else None


@dataclass(frozen=True)
class DealFrames:
    """The deals behind the figures, one row per deal and stage (or criterion):

    * ``exits``: ``deal_id``, ``stage_key``, ``exited_at``, ``criterion_id``, ``outcome``,
      ``met`` (null:
      unrecorded), ``met_late``, ``waived``, ``evidence_level`` — the last forward exits of
      closed deals (the criterion figures);
    * ``visitors``: ``deal_id``, ``stage_key``, ``outcome``, ``lost_here``, ``lost_after``,
      ``stalled`` (a
      completed visit over max_days) — the loss and stall figures;
    * ``passed``: ``deal_id``, ``stage_key``, ``outcome``, ``skipped`` — the closed deals that
      got past each stage, by skipping it or going through it.
    """

    exits: pl.DataFrame
    visitors: pl.DataFrame
    passed: pl.DataFrame


def _amount(frame: pl.DataFrame) -> float:
    # fsum: exactly rounded, so the same whatever the order or chunking of the rows.
    return math.fsum(frame["amount"].to_list())


def criterion_figures(
    process: ProcessDef,
    frames: CheckedFrames,
    visits: pl.DataFrame,
    settings: EffectivenessSettings,
) -> tuple[list[CriterionFigures], pl.DataFrame]:
    """:class:`CriterionFigures` for every exit criterion of every open stage, in process
    order, and the ``exits`` frame of :class:`DealFrames`. ``visits``: ``stage_visits``."""
    exits = last_forward_exits(visits).join(
        frames.deals.select("deal_id", "outcome", "amount"), on="deal_id", how="inner"
    )
    # Keys as enums: the (deal, stage, exit, criterion) join is several times faster on
    # integers than on strings.
    stage_enum = pl.Enum([s.key for s in process.open_stages])
    criterion_enum = pl.Enum([c.id for s in process.open_stages for c in s.exit_criteria])
    enums = [pl.col("stage_key").cast(stage_enum), pl.col("criterion_id").cast(criterion_enum)]
    criteria = pl.DataFrame(
        {
            "stage_key": [s.key for s in process.open_stages for _ in s.exit_criteria],
            "criterion_id": [c.id for s in process.open_stages for c in s.exit_criteria],
        },
        schema={"stage_key": pl.String, "criterion_id": pl.String},
    ).with_columns(enums)
    closed_exits = exits.filter(_CLOSED)
    rows = (
        closed_exits.with_columns(enums[0])
        .join(criteria, on="stage_key", how="inner")
        .join(
            frames.criteria.with_columns(enums),
            on=["deal_id", "stage_key", "exited_at", "criterion_id"],
            how="left",
        )
        .select(
            "deal_id",
            "stage_key",
            "exited_at",
            "criterion_id",
            "outcome",
            "met",
            (
                ~pl.col("met")
                & pl.col("first_met_at").is_not_null()
                & (pl.col("first_met_at") > pl.col("exited_at"))
            ).alias("met_late"),
            "waived",
            "evidence_level",
        )
    )
    met, not_met = pl.col("met").fill_null(False), (~pl.col("met")).fill_null(False)
    recorded = pl.col("met").is_not_null()
    counts = {
        (r["stage_key"], r["criterion_id"]): r
        for r in rows.group_by("stage_key", "criterion_id")
        .agg(
            exits=pl.len(),
            met=met.sum(),
            not_met=not_met.sum(),
            met_won=(met & _WON).sum(),
            not_met_won=(not_met & _WON).sum(),
            met_late=pl.col("met_late").fill_null(False).sum(),
            waived=(pl.col("waived").fill_null(False)).sum(),
            **{
                level: (pl.col("evidence_level") == level).fill_null(False).sum()
                for level in EVIDENCE_LEVELS
            },
            no_level=(recorded & pl.col("evidence_level").is_null()).sum(),
        )
        .iter_rows(named=True)
    }
    per_stage = {
        key: (group.height, _amount(group)) for (key,), group in closed_exits.group_by("stage_key")
    }
    open_per_stage = dict(exits.filter(~_CLOSED).group_by("stage_key").len().iter_rows())
    out: list[CriterionFigures] = []
    for stage in process.open_stages:
        n_exits, amount = per_stage.get(stage.key, (0, 0.0))
        for criterion in stage.exit_criteria:
            c = counts.get((stage.key, criterion.id), {})

            def g(name: str, c: dict[str, Any] = c) -> int:
                return int(c.get(name) or 0)

            unrecorded = n_exits - g("met") - g("not_met")
            out.append(
                CriterionFigures(
                    stage=stage.key,
                    criterion=criterion.id,
                    exits=n_exits,
                    met=g("met"),
                    not_met=g("not_met"),
                    unrecorded=unrecorded,
                    comparison=Comparison.of(
                        g("met_won"),
                        g("met"),
                        g("not_met_won"),
                        g("not_met"),
                        min_group=settings.min_group,
                        margin=settings.margin,
                    ),
                    met_late=g("met_late"),
                    waived=g("waived"),
                    levels=(
                        *((level, g(level)) for level in EVIDENCE_LEVELS),
                        ("none", g("no_level") + unrecorded),
                    ),
                    open_exits=int(open_per_stage.get(stage.key, 0)),
                    amount=amount,
                )
            )
    return out, rows.sort("deal_id", "stage_key", "criterion_id")


def _jumps(process: ProcessDef, transitions: pl.DataFrame) -> pl.DataFrame:
    """Transitions with the position left (``from_pos``; -1 for the creation, null after a
    loss) and entered (``to_pos``; null for a loss)."""
    pos = StageOrder.of(process).positions()
    to_pos = pl.col("to_stage").replace_strict(pos, default=None, return_dtype=pl.Int64)
    # ``transitions`` is sorted by deal, time and id (CheckedFrames): row order is move order.
    first = pl.col("deal_id").shift(1).is_null() | (pl.col("deal_id").shift(1) != pl.col("deal_id"))
    return transitions.with_columns(to_pos=to_pos).with_columns(
        from_pos=pl.when(first).then(pl.lit(-1, pl.Int64)).otherwise(pl.col("to_pos").shift(1))
    )


def stage_figures(
    process: ProcessDef,
    frames: CheckedFrames,
    visits: pl.DataFrame,
    settings: EffectivenessSettings,
    as_of: datetime | None = None,
) -> tuple[list[StageFigures], pl.DataFrame, pl.DataFrame]:
    """:class:`StageFigures` for every open stage, in process order, and the ``visitors`` and
    ``passed`` frames of :class:`DealFrames`. ``visits``: ``stage_visits``."""
    deals = frames.deals
    visits = visits.join(deals.select("deal_id", "outcome"), on="deal_id", how="inner")
    # The stage each lost deal was lost from: the visit its last move to a lost stage left.
    lost_from = (
        visits.filter((pl.col("direction") == "lost") & (pl.col("outcome") == "lost"))
        .sort("deal_id", "exited_at")
        .group_by("deal_id", maintain_order=True)
        .last()
        .select("deal_id", pl.col("stage_key").alias("lost_from"), "position")
        .rename({"position": "lost_from_position"})
    )
    max_days = {s.key: s.max_days for s in process.open_stages}
    over = pl.col("days") > pl.col("stage_key").replace_strict(
        max_days, default=None, return_dtype=pl.Int64
    )
    visitors = (
        visits.group_by("deal_id", "stage_key")
        .agg(stalled=over.fill_null(False).any(), completed=pl.col("exited_at").is_not_null().any())
        .join(deals, on="deal_id")
        .join(lost_from, on="deal_id", how="left")
        .with_columns(
            lost_here=(pl.col("lost_from") == pl.col("stage_key")).fill_null(False),
            lost_after=(
                pl.col("lost_from_position")
                > pl.col("stage_key").replace_strict(
                    StageOrder.of(process).positions(), return_dtype=pl.Int64
                )
            ).fill_null(False),
        )
        .sort("deal_id", "stage_key")
    )
    jumps = _jumps(process, frames.transitions)
    outcome = deals.select("deal_id", "outcome", "amount")
    as_of_utc = as_utc(as_of) if as_of is not None else None
    out: list[StageFigures] = []
    passed_parts: list[pl.DataFrame] = []
    for position, stage in enumerate(process.open_stages):
        v = visits.filter(pl.col("stage_key") == stage.key)
        who = visitors.filter(pl.col("stage_key") == stage.key)
        closed_deals = who.filter(_CLOSED)
        here = closed_deals.filter(pl.col("lost_here"))
        n_after = closed_deals.filter(pl.col("lost_after")).height
        n_won = closed_deals.filter(_WON).height
        reasons = (
            here.with_columns(
                pl.col("lost_reason").str.strip_chars().fill_null(NOT_GIVEN).alias("reason")
            )
            .group_by("reason")
            .len()
            .sort(["len", "reason"], descending=[True, False])
        )
        done = v.filter(pl.col("exited_at").is_not_null())["days"].sort().to_list()
        limit = stage.max_days
        over_max = None if limit is None else sum(1 for d in done if d > limit)
        now = v.filter(pl.col("exited_at").is_null())
        open_over: int | None = None
        if as_of_utc is not None and limit is not None:
            open_over = now.filter(
                (
                    pl.lit(as_of_utc, dtype=pl.Datetime("us", "UTC")) - pl.col("entered_at")
                ).dt.total_days()
                > limit
            ).height
        skips = jumps.filter(
            (pl.col("from_pos") < position)
            & (pl.col("to_pos") > position)
            & pl.col("from_pos").is_not_null()
        )
        skipper_ids = skips.select("deal_id").unique()
        passers = jumps.filter(pl.col("to_pos") > position).select("deal_id").unique()
        n_passers = passers.height
        passed = (
            passers.join(outcome, on="deal_id")
            .filter(_CLOSED)
            .with_columns(
                stage_key=pl.lit(stage.key),
                skipped=pl.col("deal_id").is_in(skipper_ids["deal_id"].implode()),
            )
            .sort("deal_id")
        )
        passed_parts.append(passed)
        skipped = passed.filter(pl.col("skipped"))
        through = passed.filter(~pl.col("skipped"))
        stalled = who.filter(pl.col("completed"))
        out.append(
            StageFigures(
                stage=stage.key,
                position=position,
                visitors=who.height,
                closed=closed_deals.height,
                won=n_won,
                lost_here=here.height,
                lost_elsewhere=closed_deals.height - n_won - here.height,
                lost_after=n_after,
                loss_after=Rate.of(n_after, closed_deals.height),
                loss_here=Rate.of(here.height, closed_deals.height),
                lost_reasons=tuple((str(r), int(n)) for r, n in reasons.iter_rows()),
                completed_visits=len(done),
                days_p50=quantile(done, 0.5),
                days_p80=quantile(done, 0.8),
                max_days=limit,
                over_max=over_max,
                open_now=now.select("deal_id").n_unique(),
                open_over_max=open_over,
                skip_transitions=skips.height,
                skippers=skipper_ids.height,
                passers=n_passers,
                skip_comparison=Comparison.of(
                    skipped.filter(_WON).height,
                    skipped.height,
                    through.filter(_WON).height,
                    through.height,
                    min_group=settings.min_group,
                    margin=settings.margin,
                ),
                stall_deals=stalled.height,
                stall_amount=_amount(stalled),
                skip_amount=_amount(passed),
            )
        )
    passed_all = pl.concat(passed_parts).select("deal_id", "stage_key", "outcome", "skipped")
    return (
        out,
        visitors.select("deal_id", "stage_key", "outcome", "lost_here", "lost_after", "stalled"),
        passed_all,
    )
