"""Synthetic coaching history: deterministic, consistent with the people and deals it names,
different per manager, written once; and after a demo import every manager's 1:1 agenda can be
drafted from the real inspection of their team."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db.models import F

from milepost.coaching.agenda.services import agenda_draft
from milepost.coaching.models import (
    ActionItem,
    ActionStatus,
    AgendaItem,
    CoachingCadence,
    CoachingSession,
    SessionStatus,
    SkillRating,
)
from milepost.demo.importer import maven_import
from milepost.demo.synthetic_coaching import WEEKS, DealRow, coaching_rows
from milepost.demo.tests.test_maven_import import write_dataset
from milepost.team.models import Role, User

TODAY = date(2026, 3, 4)
T0 = datetime(2025, 10, 1, tzinfo=UTC)


def _teams(n_managers: int = 3, reps: int = 12) -> list[tuple[int, list[int]]]:
    return [(m, [100 * m + r for r in range(1, reps + 1)]) for m in range(1, n_managers + 1)]


def _deals(teams) -> list[DealRow]:
    out = []
    for _, reps in teams:
        for rep in reps:
            for k in range(4):
                out.append(
                    DealRow(10 * rep + k, rep, f"Deal {rep}-{k}", 1000.0 * (k + 1), T0, None)
                )
    return out


def test_rows_are_deterministic_and_seeded():
    teams = _teams()
    deals = _deals(teams)
    a = coaching_rows(teams, deals, today=TODAY, seed=5)
    assert a == coaching_rows(teams, deals, today=TODAY, seed=5)
    assert a != coaching_rows(teams, deals, today=TODAY, seed=6)


def test_rows_are_consistent_and_managers_differ():
    teams = _teams()
    deals = _deals(teams)
    owner = {d.id: d.owner_id for d in deals}
    rows = coaching_rows(teams, deals, today=TODAY, seed=5)
    sessions = rows["sessions"]
    first = TODAY - timedelta(days=7 * WEEKS)
    assert all(first <= s["scheduled_for"].date() < TODAY for s in sessions)
    for item in rows["items"]:
        s = sessions[item["session"]]
        assert s["status"] == SessionStatus.COMPLETED
        if item["opportunity"] is not None:
            assert owner[item["opportunity"]] == s["rep"]
    for a in rows["actions"]:
        if a["status"] == ActionStatus.DONE:
            assert a["completed_at"].date() < TODAY
        if a["due_date"] >= TODAY:
            assert a["status"] == ActionStatus.OPEN or a["completed_at"] is not None
    kept = {}
    for m, _ in teams:
        own = [s for s in sessions if s["manager"] == m]
        kept[m] = sum(s["status"] == SessionStatus.COMPLETED for s in own) / len(own)
    assert kept[1] > kept[2] > kept[3]  # the styles show in the leader view
    assert any(r["is_self"] for r in rows["ratings"])
    assert any(not r["is_self"] for r in rows["ratings"])
    assert {a["status"] for a in rows["actions"]} == {ActionStatus.OPEN, ActionStatus.DONE}


TEAMS = [
    ("sales_agent", "manager", "regional_office"),
    ("Ann Agent", "Mona Manager", "Central"),
    ("Bob Agent", "Mona Manager", "Central"),
    ("Cy Agent", "Ned Manager", "East"),
    ("Di Agent", "Ned Manager", "East"),
]
PIPELINE = [
    (
        "opportunity_id",
        "sales_agent",
        "product",
        "account",
        "deal_stage",
        "engage_date",
        "close_date",
        "close_value",
    ),
    *[
        (
            f"OPP{i}",
            agent,
            "GTX Pro",
            "Acme" if i % 2 else "Beta",
            "Engaging",
            f"2017-{9 + i % 3:02d}-{1 + i:02d}",
            "",
            "",
        )
        for i, agent in enumerate(["Ann Agent", "Bob Agent", "Cy Agent", "Di Agent"] * 4)
    ],
    ("OPPW1", "Ann Agent", "GTX Pro", "Acme", "Won", "2017-09-01", "2017-11-20", "4800"),
    ("OPPW2", "Cy Agent", "MG Special", "Beta", "Won", "2017-09-05", "2017-12-01", "55"),
]


@pytest.mark.django_db
def test_demo_import_gives_every_manager_a_history_and_a_drafted_agenda(processes, tmp_path):
    folder = write_dataset(tmp_path / "maven", sales_teams=TEAMS, sales_pipeline=PIPELINE)
    run = maven_import(directory=folder, as_of=date.today())
    synthetic = run.summary["synthetic"]
    assert synthetic["coaching_sessions"] == CoachingSession.objects.count() > 0
    assert synthetic["coaching_cadences"] == CoachingCadence.objects.count() == 4
    assert (
        not AgendaItem.objects.exclude(opportunity=None)
        .exclude(opportunity__owner_id=F("session__rep_id"))
        .exists()
    )
    assert SkillRating.objects.filter(is_self=True).exists()
    assert ActionItem.objects.exists()
    managers = list(User.objects.filter(role=Role.MANAGER).order_by("username"))
    assert len(managers) == 2
    for manager in managers:
        assert CoachingSession.objects.filter(
            manager=manager, status=SessionStatus.COMPLETED
        ).exists()
        drafted = 0
        for rep in User.objects.filter(manager=manager, role=Role.REP):
            draft, _ = agenda_draft(manager=manager, rep_id=rep.id)
            for item in draft.deal_items:
                assert rep.opportunities.filter(pk=item.opportunity_id).exists()
                assert item.reasons or item.questions
            drafted += len(draft.deal_items)
        assert drafted > 0, manager
    before = CoachingSession.objects.count()
    maven_import(directory=folder, as_of=date.today())
    assert CoachingSession.objects.count() == before  # written once
