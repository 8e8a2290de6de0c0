"""The process-effectiveness frames read from the database equal the hand-written ones of
``effectiveness_world`` (see its docstring), and the engine gives the same figures from them
as from the hand-written frames. Run on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import polars as pl
import pytest

from milepost.analytics.filters import AnalyticsFilters
from milepost.analytics.selectors import effectiveness_frames, effectiveness_report
from milepost.analytics.tests.effectiveness_world import EffWorld, build
from milepost.engine.process_effectiveness import process_effectiveness
from milepost.testing.worlds import shared_world

pytestmark = pytest.mark.django_db

# (deal, stage left, day of the exit, criterion, met, first met day, waived, evidence level)
RECORDED = [
    ("A", "engage", 10, "buyer_agreed_to_explore", True, None, False, None),
    ("A", "engage", 10, "fit_with_ideal_customer", False, None, True, None),
    ("A", "discover", 20, "discovery_recap_accepted", True, 15, False, "buyer"),
    ("A", "discover", 20, "problem_and_cost_confirmed", True, 5, False, "buyer"),
    ("A", "discover", 20, "stakeholders_identified", False, None, True, None),
    ("C", "engage", 40, "buyer_agreed_to_explore", True, None, False, None),
    ("C", "engage", 40, "fit_with_ideal_customer", True, None, False, None),
    ("C", "discover", 50, "discovery_recap_accepted", False, 55, True, None),
    ("C", "discover", 50, "problem_and_cost_confirmed", True, None, False, None),
    ("C", "discover", 50, "stakeholders_identified", False, None, True, None),
    ("E", "engage", 4, "buyer_agreed_to_explore", True, None, False, None),
    ("E", "engage", 4, "fit_with_ideal_customer", True, None, False, None),
    # Ungated exit; evidence alone decides this criterion and E has its history.
    ("E", "discover", 30, "problem_and_cost_confirmed", True, 20, False, "buyer"),
]
# B's and D's engage exits (rule criteria, no gate), E's discover exit for the rule criterion
# and the one without history, E's commit exit (three rule criteria): 2 + 2 + 2 + 3.
UNRECORDED = 9
EXITS = len(RECORDED) + UNRECORDED
# (deal, stage entered, day)
TRANSITIONS = [
    ("A", "engage", 0), ("A", "discover", 10), ("A", "won", 20),
    ("B", "engage", 0), ("B", "discover", 5), ("B", "lost", 60),
    ("C", "engage", 0), ("C", "discover", 40), ("C", "commit", 50), ("C", "lost", 70),
    ("D", "engage", 0), ("D", "discover", 3), ("D", "engage", 6), ("D", "discover", 8),
    ("E", "engage", 0), ("E", "discover", 4), ("E", "commit", 30), ("E", "won", 45),
]  # fmt: skip
DEALS = [
    ("A", "won", "", 1000.0),
    ("B", "lost", "price", 2000.0),
    ("C", "lost", "", 3000.0),
    ("D", "open", "", 4000.0),
    ("E", "won", "", 5000.0),
]


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[EffWorld]:
    yield from shared_world(django_db_blocker, build)


def _when(world: EffWorld, days: float | None) -> datetime | None:
    return None if days is None else world.at(days)


def hand_frames(world: EffWorld) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    ids = world.ids
    deals = pl.DataFrame(
        [(ids[d], o, r, a) for d, o, r, a in DEALS],
        schema=["deal_id", "outcome", "lost_reason", "amount"],
        orient="row",
    )
    transitions = pl.DataFrame(
        [(n, ids[d], s, world.at(day)) for n, (d, s, day) in enumerate(TRANSITIONS)],
        schema=["transition_id", "deal_id", "to_stage", "moved_at"],
        orient="row",
    )
    criteria = pl.DataFrame(
        [
            (ids[d], s, world.at(x), c, m, _when(world, f), w, lv)
            for d, s, x, c, m, f, w, lv in RECORDED
        ],
        schema={
            "deal_id": pl.Int64,
            "stage_key": pl.String,
            "exited_at": pl.Datetime("us", "UTC"),
            "criterion_id": pl.String,
            "met": pl.Boolean,
            "first_met_at": pl.Datetime("us", "UTC"),
            "waived": pl.Boolean,
            "evidence_level": pl.String,
        },
        orient="row",
    )
    return deals, transitions, criteria


def test_frames_equal_the_hand_written_ones(world):
    frames = effectiveness_frames(user=world.org.admin, filters=AnalyticsFilters())
    deals, _, criteria = hand_frames(world)
    got = frames.deals.with_columns(pl.col("lost_reason").fill_null("")).sort("deal_id")
    assert got.to_dicts() == deals.sort("deal_id").to_dicts()
    names = {v: k for k, v in world.ids.items()}
    moves = [
        (names[r["deal_id"]], r["to_stage"], r["moved_at"])
        for r in frames.transitions.sort("deal_id", "moved_at", "transition_id").to_dicts()
    ]
    assert moves == [(d, s, world.at(day)) for d, s, day in TRANSITIONS]
    assert frames.criteria.sort("deal_id", "stage_key", "criterion_id").to_dicts() == (
        criteria.sort("deal_id", "stage_key", "criterion_id").to_dicts()
    )
    assert (frames.exits, frames.unrecorded, frames.left_out) == (EXITS, UNRECORDED, 0)


def test_the_engine_gives_the_same_figures_from_the_database(world):
    report = effectiveness_report(user=world.org.admin, filters=AnalyticsFilters())
    assert report.result is not None
    assert report.frames.process is not None
    by_hand = process_effectiveness(
        report.frames.process, *hand_frames(world), as_of=report.frames.as_of
    )
    assert report.result == by_hand


def test_figures_by_hand(world):
    result = effectiveness_report(user=world.org.admin, filters=AnalyticsFilters()).result
    assert result is not None
    crit = {c.criterion: c for c in result.criteria}
    c = crit["buyer_agreed_to_explore"]
    assert (c.exits, c.met, c.not_met, c.unrecorded, c.open_exits) == (4, 3, 0, 1, 1)
    assert (c.comparison.with_.won, c.comparison.with_.n) == (2, 3)
    c = crit["fit_with_ideal_customer"]
    assert (c.met, c.not_met, c.unrecorded, c.waived) == (2, 1, 1, 1)
    assert (c.comparison.with_.won, c.comparison.without.won) == (1, 1)
    c = crit["problem_and_cost_confirmed"]
    assert (c.exits, c.met, c.buyer_confirmed, dict(c.levels)["none"]) == (3, 3, 2, 1)
    c = crit["stakeholders_identified"]
    assert (c.not_met, c.unrecorded, c.waived) == (2, 1, 2)
    c = crit["discovery_recap_accepted"]
    assert (c.met, c.not_met, c.unrecorded, c.met_late, c.waived) == (1, 1, 1, 1, 1)
    assert crit["economic_buyer_engaged"].unrecorded == 1
    stages = {s.stage: s for s in result.stages}
    s = stages["engage"]
    assert (s.visitors, s.closed, s.won, s.lost_here, s.lost_after) == (5, 4, 2, 0, 2)
    assert (s.completed_visits, s.days_p50, s.days_p80, s.over_max) == (6, 4.5, 10.0, 1)
    s = stages["discover"]
    assert (s.visitors, s.closed, s.won, s.lost_here, s.lost_after) == (5, 4, 2, 1, 1)
    assert s.lost_reasons == (("price", 1),)
    assert (s.days_p50, s.days_p80, s.over_max, s.open_now, s.open_over_max) == (
        10.0,
        pytest.approx(31.8),
        1,
        1,
        1,
    )
    s = stages["commit"]
    assert (s.visitors, s.won, s.lost_here, s.skip_transitions, s.skippers, s.passers) == (
        2,
        1,
        1,
        1,
        1,
        2,
    )


@pytest.mark.parametrize(
    ("role", "deals"),
    [("manager_a", {"A", "B", "E"}), ("rep_b1", {"C"}), ("leader", {"A", "B", "C", "E"})],
)
def test_frames_are_scoped_like_every_analytics_page(world, role, deals):
    frames = effectiveness_frames(user=getattr(world.org, role), filters=AnalyticsFilters())
    names = {v: k for k, v in world.ids.items()}
    assert {names[d] for d in frames.deals["deal_id"]} == deals
    assert {names[d] for d in frames.criteria["deal_id"]} <= deals
