"""Skill gaps: where one rep shows a pipeline pattern far more often than the rest of the team.

The competency model (:mod:`milepost.engine.competency_schema`) names *indicators*, deal-level
facts that point at selling skills (the economic buyer missing in late-stage deals points at
business acumen). This module evaluates every indicator on every open deal of a team at once,
as Polars joins (no Python loop per deal), then compares each rep's rate with the team's.

A gap is a *pattern*, not a verdict: the rep has enough deals for the indicator, their rate is
clearly above the team's (percentage points and ratio), and a one-sided two-proportion z-test
of the rep against the rest of the team says the difference is unlikely to be chance. Managers
read it as "worth a conversation", which is why every gap carries example deals.

Indicator semantics (one row per deal x indicator):

- ``criterion_unmet``: the deal's status for that criterion is not ``met`` (``unknown`` counts:
  a criterion nobody verified is not verified). A deal with no status row for the criterion
  (its process has no such criterion) does not count at all (``applies`` false).
- ``element_below``: the deal's level on that methodology element ranks below the given level
  (no level: below the top of the scale), or the element was never assessed. Levels not on the
  scale count as not assessed. Without a scale for the element (pack not installed) the
  indicator applies to no deal.
- ``signal``: the deal has that inspection signal.

Only deals in the indicator's ``stages`` count (empty: every deal); others get ``applies`` false
and ``hit`` false.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from milepost.engine.competency_schema import CompetencyModelDef, IndicatorDef

HITS_SCHEMA: dict[str, Any] = {
    "opportunity_id": pl.Int64,
    "owner_id": pl.Int64,
    "indicator": pl.String,
    "applies": pl.Boolean,
    "hit": pl.Boolean,
}
# How many of the rep's hit deals a gap names as examples (lowest ids first, stable).
MAX_EXAMPLES = 5


@dataclass(frozen=True, slots=True)
class SkillGap:
    """One rep's pattern on one indicator, with the numbers that make it a gap.

    ``team_*`` count every deal of the team, the rep's included; ``z`` compares the rep with
    the *rest* of the team (so a rep is never compared with themself).
    """

    rep_id: int
    indicator: str
    label: str
    competencies: tuple[str, ...]
    focus: str
    rep_hits: int
    rep_deals: int
    rep_rate: float
    team_hits: int
    team_deals: int
    team_rate: float
    z: float
    example_deal_ids: tuple[int, ...]


def indicator_hits(
    deals: pl.DataFrame,
    statuses: pl.DataFrame,
    signals: pl.DataFrame,
    elements: pl.DataFrame,
    scales: Mapping[tuple[str, str], Sequence[str]],
    model: CompetencyModelDef,
) -> pl.DataFrame:
    """Every indicator of ``model`` on every deal: ``opportunity_id, owner_id, indicator,
    applies, hit`` (see the module docstring for what each indicator means).

    ``deals``: ``opportunity_id, owner_id, stage_key`` (open deals); ``statuses``:
    ``opportunity_id, criterion_id, status``; ``signals``: ``opportunity_id, signal``;
    ``elements``: ``opportunity_id, pack, element, level``; ``scales``: level keys lowest
    first per ``(pack, element)``.
    """
    base = deals.select(
        pl.col("opportunity_id").cast(pl.Int64),
        pl.col("owner_id").cast(pl.Int64),
        pl.col("stage_key").cast(pl.String),
    ).unique(subset="opportunity_id", keep="first", maintain_order=True)
    statuses = statuses.select(
        pl.col("opportunity_id").cast(pl.Int64),
        pl.col("criterion_id").cast(pl.String),
        pl.col("status").cast(pl.String),
    )
    signals = signals.select(
        pl.col("opportunity_id").cast(pl.Int64), pl.col("signal").cast(pl.String)
    )
    elements = elements.select(
        pl.col("opportunity_id").cast(pl.Int64),
        pl.col("pack").cast(pl.String),
        pl.col("element").cast(pl.String),
        pl.col("level").cast(pl.String),
    )
    frames = [
        _one_indicator(base, statuses, signals, elements, scales, indicator)
        for indicator in model.indicators
    ]
    if not frames:
        return pl.DataFrame(schema=HITS_SCHEMA)
    return pl.concat(frames, how="vertical").select(
        [pl.col(name).cast(dtype) for name, dtype in HITS_SCHEMA.items()]
    )


def _one_indicator(
    base: pl.DataFrame,
    statuses: pl.DataFrame,
    signals: pl.DataFrame,
    elements: pl.DataFrame,
    scales: Mapping[tuple[str, str], Sequence[str]],
    indicator: IndicatorDef,
) -> pl.DataFrame:
    """One indicator over all deals, as a join (columns ``fact_known`` and ``fact``)."""
    when = indicator.when
    if when.criterion_unmet is not None:
        facts = (
            statuses.filter(pl.col("criterion_id") == when.criterion_unmet)
            .group_by("opportunity_id")
            .agg((pl.col("status") != "met").any().alias("fact"))
            .with_columns(pl.lit(True).alias("fact_known"))
        )
        joined = base.join(facts, on="opportunity_id", how="left").with_columns(
            pl.col("fact_known").fill_null(False), pl.col("fact").fill_null(False)
        )
    elif when.element_below is not None:
        ref = when.element_below
        levels = list(scales.get((ref.pack, ref.element), ()))
        if not levels:
            joined = base.with_columns(
                pl.lit(False).alias("fact_known"), pl.lit(False).alias("fact")
            )
        else:
            threshold = levels.index(ref.level) if ref.level in levels else len(levels) - 1
            ranks = {key: n for n, key in enumerate(levels)}
            facts = (
                elements.filter((pl.col("pack") == ref.pack) & (pl.col("element") == ref.element))
                .with_columns(
                    pl.col("level")
                    .replace_strict(ranks, default=None, return_dtype=pl.Int64)
                    .alias("rank")
                )
                .group_by("opportunity_id")
                # Several rows for one deal: the best assessed level counts.
                .agg(pl.col("rank").max().alias("rank"))
            )
            joined = base.join(facts, on="opportunity_id", how="left").with_columns(
                pl.lit(True).alias("fact_known"),
                (pl.col("rank").is_null() | (pl.col("rank") < threshold)).alias("fact"),
            )
    else:
        having = signals.filter(pl.col("signal") == when.signal)["opportunity_id"].unique()
        joined = base.with_columns(
            pl.lit(True).alias("fact_known"),
            pl.col("opportunity_id").is_in(having.implode()).alias("fact"),
        )
    in_stage = pl.col("stage_key").is_in(indicator.stages) if indicator.stages else pl.lit(True)
    applies = in_stage & pl.col("fact_known")
    return joined.select(
        "opportunity_id",
        "owner_id",
        pl.lit(indicator.key).alias("indicator"),
        applies.alias("applies"),
        (applies & pl.col("fact")).alias("hit"),
    )


def skill_gaps(hits: pl.DataFrame, model: CompetencyModelDef) -> list[SkillGap]:
    """The gaps in ``hits`` (from :func:`indicator_hits`), strongest (highest z) first.

    Team = every owner in the frame. A gap needs ``rep_deals >= min_deals``, ``rep_rate -
    team_rate >= min_gap_points / 100``, the rep's odds of the pattern at least ``min_ratio``
    times the team's (an odds ratio, not a rate ratio: a rate ratio can never pass for a
    pattern the team shows on most deals, however far apart the rep is) and a one-sided
    pooled two-proportion z of the rep against the rest of the team ``>= z_score``. When the
    pooled rate is 0 or 1 (no variance) or the rep is alone, z is 0: no evidence of a gap.
    """
    t = model.thresholds
    counted = hits.filter(pl.col("applies"))
    if counted.is_empty():
        return []
    per_rep = counted.group_by("indicator", "owner_id").agg(
        pl.len().cast(pl.Int64).alias("rep_deals"),
        pl.col("hit").cast(pl.Int64).sum().alias("rep_hits"),
        pl.col("opportunity_id").filter(pl.col("hit")).sort().head(MAX_EXAMPLES).alias("examples"),
    )
    team = per_rep.group_by("indicator").agg(
        pl.col("rep_deals").sum().alias("team_deals"),
        pl.col("rep_hits").sum().alias("team_hits"),
    )
    rest_deals = pl.col("team_deals") - pl.col("rep_deals")
    rest_hits = pl.col("team_hits") - pl.col("rep_hits")
    pooled = pl.col("team_hits") / pl.col("team_deals")
    variance = pooled * (1 - pooled) * (1 / pl.col("rep_deals") + 1 / rest_deals)
    rep_rate = pl.col("rep_hits") / pl.col("rep_deals")
    rest_rate = rest_hits / rest_deals
    scored = (
        per_rep.join(team, on="indicator")
        .with_columns(
            rep_rate.alias("rep_rate"),
            pooled.alias("team_rate"),
            pl.when((rest_deals > 0) & (variance > 0))
            .then((rep_rate - rest_rate) / variance.sqrt())
            .otherwise(0.0)
            .alias("z"),
        )
        .filter(
            (pl.col("rep_deals") >= t.min_deals)
            # A small tolerance so 0.6 - 0.4 counts as the 20 points it is.
            & (pl.col("rep_rate") - pl.col("team_rate") >= t.min_gap_points / 100 - 1e-9)
            # odds(rep) >= min_ratio * odds(team), multiplied out so a rate of 1 needs no
            # division: r (1 - t) >= m t (1 - r).
            & (
                pl.col("rep_rate") * (1 - pl.col("team_rate"))
                >= t.min_ratio * pl.col("team_rate") * (1 - pl.col("rep_rate")) - 1e-9
            )
            & (pl.col("z") >= t.z_score)
        )
        .sort(["z", "owner_id", "indicator"], descending=[True, False, False])
    )
    by_key = {i.key: i for i in model.indicators}
    gaps = []
    for row in scored.iter_rows(named=True):
        indicator = by_key[row["indicator"]]
        gaps.append(
            SkillGap(
                rep_id=int(row["owner_id"]),
                indicator=indicator.key,
                label=indicator.label,
                competencies=tuple(indicator.competencies),
                focus=indicator.focus,
                rep_hits=int(row["rep_hits"]),
                rep_deals=int(row["rep_deals"]),
                rep_rate=float(row["rep_rate"]),
                team_hits=int(row["team_hits"]),
                team_deals=int(row["team_deals"]),
                team_rate=float(row["team_rate"]),
                z=_finite(row["z"]),
                example_deal_ids=tuple(int(i) for i in row["examples"]),
            )
        )
    return gaps


def _finite(value: Any) -> float:
    z = float(value)
    return z if math.isfinite(z) else 0.0
