"""Whether coaching helps, measured honestly: observational comparisons, never a causal claim.

Two questions a sales leader asks, answered with the data Milepost keeps:

* **Deals** (:func:`deal_effect`): of the deals discussed in a completed 1:1, how many exit
  criteria *became met* in the following ``follow_days``, compared with *similar* deals that
  were not discussed. "Similar" means the same week, the same stage at the start of that week
  and the same risk band then (see :func:`risk_band`). The comparison rate is standardised to
  the discussed deals' mix of (week, stage, risk band), so a team that coaches mostly late,
  risky deals is not compared with early, quiet ones. Discussed deals with no similar
  undiscussed deal in their week are left out and counted (``unmatched``); so are exposures
  whose follow-up window has not ended yet (``censored``).
* **Competencies** (:func:`competency_effect`): for a competency coached with a rep (an agenda
  or action item naming it), the rate of the indicators the competency model links to it, in
  the periods before the first coaching and the periods after, next to the same change for
  the rest of the team (who were not coached on it) over the same periods. Indicators are
  problems (a hit is bad), so a *fall* is the hoped-for direction.

Managers choose which deals and skills to coach, and they choose the ones they expect to
move, or the ones in trouble: both comparisons are confounded by that choice, which is why
every result carries :data:`CAVEAT` and its counts. Pure Polars, no Django.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl

CAVEAT = (
    "Observational: deals and skills chosen for coaching differ from the others in ways the "
    "data does not show (a manager picks what they expect to move, or what is in trouble), "
    "so a difference here is a hint to look closer, not proof that coaching caused it."
)
_UTC = pl.Datetime("us", "UTC")
DISCUSSED_SCHEMA: dict[str, Any] = {"opportunity_id": pl.Int64, "at": _UTC}
STATES_SCHEMA: dict[str, Any] = {
    "opportunity_id": pl.Int64,
    "week_start": pl.Date,
    "stage_key": pl.String,
    "risk_band": pl.String,
}
MET_SCHEMA: dict[str, Any] = {"opportunity_id": pl.Int64, "key": pl.String, "at": _UTC}
PERIOD_HITS_SCHEMA: dict[str, Any] = {
    "period_start": pl.Date,
    "opportunity_id": pl.Int64,
    "owner_id": pl.Int64,
    "indicator": pl.String,
    "applies": pl.Boolean,
    "hit": pl.Boolean,
}
COACHED_SCHEMA: dict[str, Any] = {"rep_id": pl.Int64, "competency": pl.String, "at": _UTC}
# An undiscussed deal's follow-up starts mid-week (Thursday 00:00 UTC): the discussed deals of
# a week are spread over it, so the middle is the fairest single anchor.
CONTROL_OFFSET = timedelta(days=3)
RISK_BANDS = ("low", "medium", "high")


def week_start(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


def risk_band(flags: int) -> str:
    """A historical risk band from the number of warning facts known at a week's start
    (no activity in 14 days, a close date pushed before, the close date already past): 0 is
    low, 1 medium, 2 or more high. Inspection's risk score cannot be used for past weeks: it is
    computed from today's stage and evidence."""
    return RISK_BANDS[min(max(flags, 0), 2)]


@dataclass(frozen=True, slots=True)
class Arm:
    """One side of the deal comparison. ``exposures`` counts deal-weeks for the similar arm
    (an undiscussed deal is similar in every week it qualifies) and deals for the discussed
    arm. ``per_deal`` and ``share_with_any`` are standardised for the similar arm."""

    exposures: int
    deals: int
    criteria_met: int
    with_any: int
    per_deal: float
    share_with_any: float


@dataclass(frozen=True, slots=True)
class DealEffect:
    follow_days: int
    discussed: Arm
    similar: Arm
    strata: int
    unmatched: int
    censored: int
    caveat: str = CAVEAT

    @property
    def difference(self) -> float:
        """Criteria met per discussed deal minus per similar deal (standardised)."""
        return self.discussed.per_deal - self.similar.per_deal


def _frame(rows: pl.DataFrame, schema: Mapping[str, Any]) -> pl.DataFrame:
    return rows.select([pl.col(name).cast(dtype) for name, dtype in schema.items()])


def _outcomes(exposures: pl.DataFrame, met: pl.DataFrame, follow: timedelta) -> pl.DataFrame:
    """Distinct criteria that became met in ``[anchor, anchor + follow)`` per exposure."""
    joined = (
        exposures.join(met, on="opportunity_id", how="left")
        .filter(
            pl.col("at").is_not_null()
            & (pl.col("at") >= pl.col("anchor"))
            & (pl.col("at") < pl.col("anchor") + follow)
        )
        .group_by("exposure")
        .agg(pl.col("key").n_unique().alias("met"))
    )
    return exposures.join(joined, on="exposure", how="left").with_columns(
        pl.col("met").fill_null(0).cast(pl.Int64)
    )


def deal_effect(
    discussed: pl.DataFrame,
    states: pl.DataFrame,
    met: pl.DataFrame,
    *,
    follow_days: int,
    as_of: datetime,
) -> DealEffect:
    """Criteria that became met after a deal was discussed, vs similar undiscussed deals.

    ``discussed``: (opportunity_id, at) — each time a deal was an agenda item of a completed
    session; only a deal's first discussion counts (later ones would overlap its follow-up).
    ``states``: (opportunity_id, week_start, stage_key, risk_band) — every open deal at the
    start of every week of the window. ``met``: (opportunity_id, key, at) — each time a
    criterion (or methodology element) became met. ``as_of``: follow-up windows ending after
    it are censored.
    """
    follow = timedelta(days=follow_days)
    discussed = _frame(discussed, DISCUSSED_SCHEMA)
    states = _frame(states, STATES_SCHEMA)
    met = _frame(met, MET_SCHEMA)
    first = (
        discussed.group_by("opportunity_id")
        .agg(pl.col("at").min().alias("anchor"))
        .with_columns(
            (pl.col("anchor").dt.date() - pl.duration(days=pl.col("anchor").dt.weekday() - 1))
            .cast(pl.Date)
            .alias("week_start")
        )
    )
    censored_t = first.filter(pl.col("anchor") + follow > as_of).height
    treated = first.filter(pl.col("anchor") + follow <= as_of).join(
        states, on=["opportunity_id", "week_start"], how="left"
    )
    unmatched_state = treated.filter(pl.col("stage_key").is_null()).height
    treated = treated.filter(pl.col("stage_key").is_not_null())
    # An undiscussed deal is similar in a week if it was not discussed from follow_days before
    # that week until the end of its own follow-up (no leftover or later coaching in its data).
    all_times = discussed.rename({"at": "discussed_at"})
    control = (
        states.with_columns(
            (pl.col("week_start").cast(_UTC) + CONTROL_OFFSET).alias("anchor"),
        )
        .filter(pl.col("anchor") + follow <= as_of)
        .with_row_index("row")
    )
    touched = (
        control.join(all_times, on="opportunity_id", how="inner")
        .filter(
            (pl.col("discussed_at") >= pl.col("week_start").cast(_UTC) - follow)
            & (pl.col("discussed_at") < pl.col("anchor") + follow)
        )
        .select("row")
        .unique()
    )
    control = control.join(touched, on="row", how="anti").drop("row")
    keys = ["week_start", "stage_key", "risk_band"]
    treated = _outcomes(
        treated.with_row_index("exposure").select("exposure", "opportunity_id", "anchor", *keys),
        met,
        follow,
    )
    control = _outcomes(
        control.with_row_index("exposure").select("exposure", "opportunity_id", "anchor", *keys),
        met,
        follow,
    )
    t = treated.group_by(keys).agg(
        pl.len().alias("n_t"),
        pl.col("met").sum().alias("met_t"),
        (pl.col("met") > 0).sum().alias("any_t"),
    )
    c = control.group_by(keys).agg(
        pl.len().alias("n_c"),
        pl.col("opportunity_id").n_unique().alias("deals_c"),
        pl.col("met").sum().alias("met_c"),
        (pl.col("met") > 0).sum().alias("any_c"),
        pl.col("met").mean().alias("mean_c"),
        (pl.col("met") > 0).mean().alias("share_c"),
    )
    strata = t.join(c, on=keys, how="inner")
    unmatched = unmatched_state + int(t.join(c, on=keys, how="anti")["n_t"].sum() or 0)
    n_t = int(strata["n_t"].sum() or 0)
    met_t = int(strata["met_t"].sum() or 0)
    any_t = int(strata["any_t"].sum() or 0)
    matched_controls = control.join(strata.select(keys), on=keys, how="inner")
    similar_per_deal = float((strata["n_t"] * strata["mean_c"]).sum()) / n_t if n_t else 0.0
    similar_share = float((strata["n_t"] * strata["share_c"]).sum()) / n_t if n_t else 0.0
    return DealEffect(
        follow_days=follow_days,
        discussed=Arm(
            exposures=n_t,
            deals=n_t,
            criteria_met=met_t,
            with_any=any_t,
            per_deal=met_t / n_t if n_t else 0.0,
            share_with_any=any_t / n_t if n_t else 0.0,
        ),
        similar=Arm(
            exposures=matched_controls.height,
            deals=matched_controls["opportunity_id"].n_unique(),
            criteria_met=int(matched_controls["met"].sum() or 0),
            with_any=int((matched_controls["met"] > 0).sum()),
            per_deal=similar_per_deal,
            share_with_any=similar_share,
        ),
        strata=strata.height,
        unmatched=unmatched,
        censored=censored_t,
    )


@dataclass(frozen=True, slots=True)
class CompetencyEffect:
    """One (rep, competency) coached: linked indicator rates before and after the first
    coaching, and the rest of the team's rates over the same periods."""

    rep_id: int
    competency: str
    coached_on: date
    indicators: tuple[str, ...]
    before_hits: int
    before_deals: int
    after_hits: int
    after_deals: int
    team_before_hits: int
    team_before_deals: int
    team_after_hits: int
    team_after_deals: int

    @staticmethod
    def _rate(hits: int, deals: int) -> float | None:
        return hits / deals if deals else None

    @property
    def before_rate(self) -> float | None:
        return self._rate(self.before_hits, self.before_deals)

    @property
    def after_rate(self) -> float | None:
        return self._rate(self.after_hits, self.after_deals)

    @property
    def team_before_rate(self) -> float | None:
        return self._rate(self.team_before_hits, self.team_before_deals)

    @property
    def team_after_rate(self) -> float | None:
        return self._rate(self.team_after_hits, self.team_after_deals)

    @property
    def change(self) -> float | None:
        """The rep's change in rate (negative: fewer problem deals after coaching)."""
        if self.before_rate is None or self.after_rate is None:
            return None
        return self.after_rate - self.before_rate

    @property
    def team_change(self) -> float | None:
        if self.team_before_rate is None or self.team_after_rate is None:
            return None
        return self.team_after_rate - self.team_before_rate


def competency_effect(
    coached: pl.DataFrame,
    hits: pl.DataFrame,
    links: Mapping[str, Sequence[str]],
    *,
    period_days: int,
) -> list[CompetencyEffect]:
    """Indicator rates before/after the first coaching of each (rep, competency).

    ``coached``: (rep_id, competency, at). ``hits``: :data:`PERIOD_HITS_SCHEMA`, the output of
    the skill-gap indicator evaluation for the team at the end of each period, with the
    period's first day. ``links``: indicator -> competencies it points at. A period counts as
    *before* if it ended on or before the coaching day, *after* if it started on or after it;
    the period containing the coaching is left out. Only applicable deal-indicator rows count.
    """
    coached = _frame(coached, COACHED_SCHEMA)
    hits = _frame(hits, PERIOD_HITS_SCHEMA).filter(pl.col("applies"))
    pairs = [(i, c) for i, comps in links.items() for c in comps]
    if coached.is_empty() or hits.is_empty() or not pairs:
        return []
    link = pl.DataFrame(
        {"indicator": [p[0] for p in pairs], "competency": [p[1] for p in pairs]},
        schema={"indicator": pl.String, "competency": pl.String},
    )
    first = (
        coached.group_by("rep_id", "competency")
        .agg(pl.col("at").min().dt.date().alias("coached_on"))
        .join(link.group_by("competency").agg(pl.col("indicator").sort()), on="competency")
        .sort("rep_id", "competency")
    )
    coached_pairs = set(
        zip(coached["rep_id"].to_list(), coached["competency"].to_list(), strict=True)
    )
    length = timedelta(days=period_days)
    out = []
    for row in first.iter_rows(named=True):
        on: date = row["coached_on"]
        rows = hits.filter(pl.col("indicator").is_in(row["indicator"]))
        before = rows.filter(pl.col("period_start") + length <= on)
        after = rows.filter(pl.col("period_start") >= on)
        # The rest of the team: owners never coached on this competency.
        untouched = [
            o
            for o in rows["owner_id"].unique().to_list()
            if (o, row["competency"]) not in coached_pairs
        ]

        def count(frame: pl.DataFrame, owners: list[int]) -> tuple[int, int]:
            part = frame.filter(pl.col("owner_id").is_in(owners))
            return int(part["hit"].sum() or 0), part.height

        bh, bd = count(before, [row["rep_id"]])
        ah, ad = count(after, [row["rep_id"]])
        tbh, tbd = count(before, untouched)
        tah, tad = count(after, untouched)
        out.append(
            CompetencyEffect(
                rep_id=row["rep_id"],
                competency=row["competency"],
                coached_on=on,
                indicators=tuple(row["indicator"]),
                before_hits=bh,
                before_deals=bd,
                after_hits=ah,
                after_deals=ad,
                team_before_hits=tbh,
                team_before_deals=tbd,
                team_after_hits=tah,
                team_after_deals=tad,
            )
        )
    return out
