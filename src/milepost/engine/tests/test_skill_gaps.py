"""Skill gaps: indicators evaluated per deal, and a rep flagged only for a clear, unlikely-by-chance
pattern against the rest of the team."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from milepost.engine.competency_schema import CompetencyModelDef
from milepost.engine.criteria_frames import STATUS
from milepost.engine.skill_gaps import (
    HITS_SCHEMA,
    MAX_EXAMPLES,
    SkillGap,
    indicator_hits,
    skill_gaps,
)
from milepost.engine.vocabulary import CORE_SKILLS

LATE = ["evaluate", "justify", "negotiate"]
SCALES: dict[tuple[str, str], Sequence[str]] = {
    ("meddpicc", "economic_buyer"): ("not_started", "partial", "confirmed"),
}


def model(*indicators: dict[str, Any], **thresholds: Any) -> CompetencyModelDef:
    return CompetencyModelDef.model_validate(
        {
            "competencies": [{"key": k, "label": k.replace("_", " ")} for k in CORE_SKILLS],
            "indicators": list(indicators),
            "thresholds": thresholds,
        }
    )


EB = {
    "key": "eb_missing",
    "label": "Economic buyer not engaged late",
    "when": {"criterion_unmet": "economic_buyer_engaged"},
    "stages": LATE,
    "competencies": ["business_acumen"],
    "focus": "Access to power",
}
EB_BELOW_CONFIRMED = {
    "key": "eb_below_confirmed",
    "label": "MEDDPICC economic buyer below confirmed",
    "when": {
        "element_below": {"pack": "meddpicc", "element": "economic_buyer", "level": "confirmed"}
    },
    "competencies": ["business_acumen"],
    "focus": "Access to power",
}
EB_BELOW_PARTIAL = {
    "key": "eb_below_partial",
    "label": "MEDDPICC economic buyer below partial",
    "when": {
        "element_below": {"pack": "meddpicc", "element": "economic_buyer", "level": "partial"}
    },
    "competencies": ["business_acumen"],
    "focus": "Access to power",
}
EB_BELOW_TOP = {
    "key": "eb_below_top",
    "label": "MEDDPICC economic buyer below the top",
    "when": {"element_below": {"pack": "meddpicc", "element": "economic_buyer"}},
    "competencies": ["business_acumen"],
    "focus": "Access to power",
}
SPIN_BELOW = {
    "key": "spin_below",
    "label": "SPIN problem (pack not loaded)",
    "when": {"element_below": {"pack": "spin", "element": "problem"}},
    "competencies": ["probing_questions"],
    "focus": "Discovery",
}
NO_NEXT = {
    "key": "no_next",
    "label": "No next step",
    "when": {"signal": "no_next_step"},
    "competencies": ["call_planning"],
    "focus": "Plan the next step",
}


@dataclass
class Deal:
    """One deal's facts; the frames are built from a list of these."""

    id: int
    owner: int
    stage: str = "evaluate"
    statuses: dict[str, str] = field(default_factory=dict)
    signals: tuple[str, ...] = ()
    elements: dict[tuple[str, str], str] = field(default_factory=dict)


def frames(deals: Sequence[Deal]) -> tuple[pl.DataFrame, ...]:
    deal_frame = pl.DataFrame(
        [(d.id, d.owner, d.stage) for d in deals],
        schema={"opportunity_id": pl.Int64, "owner_id": pl.Int64, "stage_key": pl.String},
        orient="row",
    )
    statuses = pl.DataFrame(
        [(d.id, c, s) for d in deals for c, s in d.statuses.items()],
        schema={"opportunity_id": pl.Int64, "criterion_id": pl.String, "status": STATUS},
        orient="row",
    )
    signals = pl.DataFrame(
        [(d.id, s) for d in deals for s in d.signals],
        schema={"opportunity_id": pl.Int64, "signal": pl.String},
        orient="row",
    )
    elements = pl.DataFrame(
        [(d.id, p, e, level) for d in deals for (p, e), level in d.elements.items()],
        schema={
            "opportunity_id": pl.Int64,
            "pack": pl.String,
            "element": pl.String,
            "level": pl.String,
        },
        orient="row",
    )
    return deal_frame, statuses, signals, elements


def hits_of(deals: Sequence[Deal], m: CompetencyModelDef) -> pl.DataFrame:
    return indicator_hits(*frames(deals), SCALES, m)


def gaps_of(deals: Sequence[Deal], m: CompetencyModelDef) -> list[SkillGap]:
    return skill_gaps(hits_of(deals, m), m)


def eb_team(
    rep: tuple[int, int],
    rest: tuple[int, int],
    *,
    rep_stage: str = "evaluate",
    miss: str = "unmet",
    rest_owners: int = 2,
) -> list[Deal]:
    """Rep 1 has ``rep = (missing, deals)``; the rest of the team (owners 2..) ``rest``.

    The rest's deals are spread over ``rest_owners`` reps so "team" means several people.
    """
    deals = []
    hits, n = rep
    for i in range(n):
        status = miss if i < hits else "met"
        deals.append(Deal(1 + i, 1, rep_stage, {"economic_buyer_engaged": status}))
    hits, n = rest
    for i in range(n):
        status = "unmet" if i < hits else "met"
        owner = 2 + i % rest_owners
        deals.append(Deal(100 + i, owner, "justify", {"economic_buyer_engaged": status}))
    return deals


# --- indicator_hits: one row per deal x indicator ---------------------------------------------


@pytest.mark.parametrize(
    ("deal", "indicator", "applies", "hit"),
    [
        # criterion_unmet: anything but met is a hit; unknown counts as not verified.
        (Deal(1, 1, statuses={"economic_buyer_engaged": "met"}), EB, True, False),
        (Deal(1, 1, statuses={"economic_buyer_engaged": "unmet"}), EB, True, True),
        (Deal(1, 1, statuses={"economic_buyer_engaged": "unknown"}), EB, True, True),
        # The deal's process has no such criterion: it does not count.
        (Deal(1, 1, statuses={"other": "unmet"}), EB, False, False),
        # A stage outside the indicator's stages does not count, even when unmet.
        (Deal(1, 1, "discover", {"economic_buyer_engaged": "unmet"}), EB, False, False),
        (Deal(1, 1, "negotiate", {"economic_buyer_engaged": "unmet"}), EB, True, True),
        # element_below a given level.
        (
            Deal(1, 1, elements={("meddpicc", "economic_buyer"): "confirmed"}),
            EB_BELOW_CONFIRMED,
            True,
            False,
        ),
        (
            Deal(1, 1, elements={("meddpicc", "economic_buyer"): "partial"}),
            EB_BELOW_CONFIRMED,
            True,
            True,
        ),
        (
            Deal(1, 1, elements={("meddpicc", "economic_buyer"): "partial"}),
            EB_BELOW_PARTIAL,
            True,
            False,
        ),
        (
            Deal(1, 1, elements={("meddpicc", "economic_buyer"): "not_started"}),
            EB_BELOW_PARTIAL,
            True,
            True,
        ),
        # Never assessed, or assessed on another element, is below any level.
        (Deal(1, 1), EB_BELOW_PARTIAL, True, True),
        (
            Deal(1, 1, elements={("meddpicc", "champion"): "confirmed"}),
            EB_BELOW_PARTIAL,
            True,
            True,
        ),
        # A level that is not on the scale counts as not assessed.
        (
            Deal(1, 1, elements={("meddpicc", "economic_buyer"): "bogus"}),
            EB_BELOW_PARTIAL,
            True,
            True,
        ),
        # No level: below the top of the scale.
        (
            Deal(1, 1, elements={("meddpicc", "economic_buyer"): "confirmed"}),
            EB_BELOW_TOP,
            True,
            False,
        ),
        (
            Deal(1, 1, elements={("meddpicc", "economic_buyer"): "partial"}),
            EB_BELOW_TOP,
            True,
            True,
        ),
        # No scale for the element (pack not loaded): the indicator cannot be judged.
        (Deal(1, 1), SPIN_BELOW, False, False),
        # signal
        (Deal(1, 1, signals=("no_next_step",)), NO_NEXT, True, True),
        (Deal(1, 1, signals=("single_threaded",)), NO_NEXT, True, False),
        (Deal(1, 1), NO_NEXT, True, False),
    ],
)
def test_indicator_semantics(
    deal: Deal, indicator: dict[str, Any], applies: bool, hit: bool
) -> None:
    hits = hits_of([deal], model(indicator))
    assert hits.rows(named=True) == [
        {
            "opportunity_id": deal.id,
            "owner_id": deal.owner,
            "indicator": indicator["key"],
            "applies": applies,
            "hit": hit,
        }
    ]


def test_one_row_per_deal_and_indicator_with_the_declared_schema() -> None:
    deals = [Deal(i, 1 + i % 2, signals=("no_next_step",) if i % 3 else ()) for i in range(1, 8)]
    hits = hits_of(deals, model(EB, NO_NEXT, EB_BELOW_TOP))
    assert dict(hits.schema) == HITS_SCHEMA
    assert hits.height == 7 * 3
    assert hits.select("opportunity_id", "indicator").is_unique().all()
    no_next = hits.filter(pl.col("indicator") == "no_next").sort("opportunity_id")
    assert no_next["hit"].to_list() == [bool(i % 3) for i in range(1, 8)]


def test_no_indicators_gives_an_empty_frame_and_no_gaps() -> None:
    m = model()
    hits = hits_of([Deal(1, 1)], m)
    assert hits.is_empty()
    assert dict(hits.schema) == HITS_SCHEMA
    assert skill_gaps(hits, m) == []


# --- skill_gaps: table of team situations ------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "deals", "expected"),
    [
        (
            "rep misses the economic buyer on 4 of 5 late deals, the team on 1 of 10",
            eb_team((4, 5), (1, 10)),
            {"rep_hits": 4, "rep_deals": 5, "team_hits": 5, "team_deals": 15},
        ),
        (
            "unknown status counts as not verified",
            eb_team((4, 5), (1, 10), miss="unknown"),
            {"rep_hits": 4, "rep_deals": 5, "team_hits": 5, "team_deals": 15},
        ),
        ("same rate as the team", eb_team((2, 5), (4, 10)), None),
        ("too few deals (2 < min_deals 3)", eb_team((2, 2), (0, 10)), None),
        # A pattern most of the team shows: 40 of 40 against 30 of 60 is still a gap (a rate
        # ratio of 1.43 would have hidden it; the odds ratio is unbounded).
        (
            "common pattern, rep on every deal",
            eb_team((40, 40), (30, 60)),
            {"rep_hits": 40, "rep_deals": 40, "team_hits": 70, "team_deals": 100},
        ),
        # 75% vs 25%: points and ratio pass, z = 1.41 < 1.64 with so few deals.
        ("not significant", eb_team((3, 4), (1, 4)), None),
        # The rep's misses are in Discover, where the indicator does not apply.
        ("stage filter", eb_team((5, 5), (1, 10), rep_stage="discover"), None),
        # Everyone misses it: no variance, no gap (and no division by zero).
        ("everyone misses it", eb_team((5, 5), (10, 10)), None),
        ("nobody misses it", eb_team((0, 5), (0, 10)), None),
        # A rep alone has no rest of the team to compare with.
        ("rep alone", eb_team((5, 5), (0, 0)), None),
    ],
)
def test_gap_table(case: str, deals: list[Deal], expected: dict[str, int] | None) -> None:
    gaps = gaps_of(deals, model(EB))
    if expected is None:
        assert gaps == [], case
        return
    [gap] = gaps
    assert gap.rep_id == 1
    assert gap.indicator == "eb_missing"
    assert gap.competencies == ("business_acumen",)
    assert gap.focus == "Access to power"
    got = {k: getattr(gap, k) for k in expected}
    assert got == expected, case
    assert gap.rep_rate == pytest.approx(expected["rep_hits"] / expected["rep_deals"])
    assert gap.team_rate == pytest.approx(expected["team_hits"] / expected["team_deals"])
    # The rep's missing deals are the examples (ids 1.., at most MAX_EXAMPLES).
    shown = min(expected["rep_hits"], MAX_EXAMPLES)
    assert gap.example_deal_ids == tuple(range(1, shown + 1))


def test_z_compares_the_rep_with_the_rest_of_the_team() -> None:
    [gap] = gaps_of(eb_team((4, 5), (1, 10)), model(EB))
    pooled = 5 / 15
    se = math.sqrt(pooled * (1 - pooled) * (1 / 5 + 1 / 10))
    assert gap.z == pytest.approx((0.8 - 0.1) / se)


def test_other_reps_of_the_team_get_no_gap_for_a_lower_rate() -> None:
    gaps = gaps_of(eb_team((4, 5), (1, 10)), model(EB))
    assert {g.rep_id for g in gaps} == {1}


def test_thresholds_come_from_the_model() -> None:
    deals = eb_team((3, 4), (1, 4))
    assert gaps_of(deals, model(EB)) == []
    assert len(gaps_of(deals, model(EB, z_score=1.0))) == 1
    assert gaps_of(eb_team((4, 5), (1, 10)), model(EB, min_deals=6)) == []


def test_examples_are_capped_and_the_lowest_ids() -> None:
    [gap] = gaps_of(eb_team((9, 9), (1, 20)), model(EB))
    assert gap.example_deal_ids == (1, 2, 3, 4, 5)


def test_several_indicators_are_sorted_by_z() -> None:
    deals = eb_team((4, 5), (1, 10))
    # Rep 1 has no next step on all 5 deals, the rest on none: a stronger pattern.
    for d in deals:
        if d.owner == 1:
            d.signals = ("no_next_step",)
    gaps = gaps_of(deals, model(EB, NO_NEXT))
    assert [g.z for g in gaps] == sorted((g.z for g in gaps), reverse=True)
    # no next step: 5/5 vs 0/10 (z 3.9) before economic buyer: 4/5 vs 1/10 (z 2.7).
    assert [(g.rep_id, g.indicator) for g in gaps] == [(1, "no_next"), (1, "eb_missing")]
    assert gaps[0].z > gaps[1].z


# --- Properties: a reference computation, and row order does not matter ------------------------

deal_strategy = st.lists(
    st.tuples(
        st.integers(1, 4),  # owner
        st.sampled_from(["discover", "evaluate", "justify"]),
        st.sampled_from(["met", "unmet", "unknown", None]),
        st.booleans(),  # no_next_step
        st.sampled_from(["not_started", "partial", "confirmed", None]),
    ),
    max_size=60,
)


def build(rows: list[tuple[int, str, str | None, bool, str | None]]) -> list[Deal]:
    deals = []
    for n, (owner, stage, status, no_next, level) in enumerate(rows, start=1):
        deals.append(
            Deal(
                n,
                owner,
                stage,
                {"economic_buyer_engaged": status} if status else {},
                ("no_next_step",) if no_next else (),
                {("meddpicc", "economic_buyer"): level} if level else {},
            )
        )
    return deals


LOOSE = model(EB, NO_NEXT, EB_BELOW_CONFIRMED, min_deals=2, min_gap_points=5, z_score=0.5)


def reference_gaps(deals: list[Deal], m: CompetencyModelDef) -> set[tuple[int, str]]:
    """The same rules written the slow, obvious way, one deal at a time."""
    t = m.thresholds
    found = set()
    for ind in m.indicators:
        counted: list[tuple[int, bool]] = []
        for d in deals:
            if ind.stages and d.stage not in ind.stages:
                continue
            if ind.when.criterion_unmet:
                status = d.statuses.get(ind.when.criterion_unmet)
                if status is None:
                    continue
                counted.append((d.owner, status != "met"))
            elif ind.when.element_below:
                levels = list(SCALES[("meddpicc", "economic_buyer")])
                level = d.elements.get(("meddpicc", "economic_buyer"))
                rank = levels.index(level) if level in levels else -1
                counted.append((d.owner, rank < levels.index("confirmed")))
            else:
                counted.append((d.owner, ind.when.signal in d.signals))
        for rep in {o for o, _ in counted}:
            n = sum(1 for o, _ in counted if o == rep)
            k = sum(1 for o, h in counted if o == rep and h)
            big_n, big_k = len(counted), sum(1 for _, h in counted if h)
            rest_n, rest_k = big_n - n, big_k - k
            p = big_k / big_n
            var = p * (1 - p) * (1 / n + 1 / rest_n) if rest_n else 0.0
            z = (k / n - rest_k / rest_n) / math.sqrt(var) if var > 0 else 0.0
            if (
                n >= t.min_deals
                and k / n - p >= t.min_gap_points / 100 - 1e-9
                and (k / n) * (1 - p) >= t.min_ratio * p * (1 - k / n) - 1e-9
                and z >= t.z_score
            ):
                found.add((rep, ind.key))
    return found


@settings(max_examples=60, deadline=None)
@given(rows=deal_strategy)
def test_matches_a_deal_by_deal_reference(rows: list[Any]) -> None:
    deals = build(rows)
    got = {(g.rep_id, g.indicator) for g in gaps_of(deals, LOOSE)}
    assert got == reference_gaps(deals, LOOSE)


@settings(max_examples=40, deadline=None)
@given(rows=deal_strategy, data=st.data())
def test_result_does_not_depend_on_row_order(rows: list[Any], data: st.DataObject) -> None:
    deals = build(rows)
    deal_frame, statuses, signals, elements = frames(deals)

    def shuffled(frame: pl.DataFrame) -> pl.DataFrame:
        order = data.draw(st.permutations(range(frame.height)))
        return frame[list(order)] if frame.height else frame

    before = skill_gaps(
        indicator_hits(deal_frame, statuses, signals, elements, SCALES, LOOSE), LOOSE
    )
    after = skill_gaps(
        indicator_hits(
            shuffled(deal_frame),
            shuffled(statuses),
            shuffled(signals),
            shuffled(elements),
            SCALES,
            LOOSE,
        ),
        LOOSE,
    )
    assert after == before


def test_no_deals_gives_no_rows_and_no_gaps() -> None:
    m = model(EB, NO_NEXT, EB_BELOW_TOP)
    hits = hits_of([], m)
    assert hits.is_empty()
    assert dict(hits.schema) == HITS_SCHEMA
    assert skill_gaps(hits, m) == []


def test_a_deal_listed_twice_counts_once() -> None:
    deals = eb_team((4, 5), (1, 10))
    deal_frame, statuses, signals, elements = frames(deals)
    doubled = pl.concat([deal_frame, deal_frame.head(3)])
    m = model(EB)
    hits = indicator_hits(doubled, statuses, signals, elements, SCALES, m)
    assert hits.height == deal_frame.height
    [gap] = skill_gaps(hits, m)
    assert (gap.rep_hits, gap.rep_deals) == (4, 5)


def test_odds_ratio_below_min_ratio_is_no_gap() -> None:
    # 70 % vs the team's 50 % (rest 40 %): 20 points, z well above 1.64, odds ratio 2.33.
    deals = eb_team((70, 100), (80, 200))
    assert gaps_of(deals, model(EB, min_ratio=2.0))
    assert gaps_of(deals, model(EB, min_ratio=3.0)) == []
