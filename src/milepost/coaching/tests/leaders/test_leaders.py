"""Leader view and effect: the numbers per manager from a small known history, the cadence
arithmetic. The privacy probes on every page and endpoint are in ``test_leaders_probes.py``."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from django.utils import timezone

from milepost.coaching.leaders.selectors import (
    coaching_effect_for,
    expected_meetings,
    leader_overview,
)
from milepost.coaching.models import (
    ActionItem,
    ActionStatus,
    AgendaItem,
    CoachingCadence,
    CoachingSession,
    ItemKind,
    SessionStatus,
)
from milepost.core.errors import NotFound
from milepost.evidence.models import (
    Evidence,
    EvidenceAction,
    EvidenceEvent,
    EvidenceLevel,
    EvidenceState,
)
from milepost.testing.factories import make_opportunity

pytestmark = pytest.mark.django_db

MON = date(2026, 3, 2)  # a Monday


@pytest.mark.parametrize(
    ("weekday", "every", "starts_on", "start", "end", "expected"),
    [
        (0, 1, MON - timedelta(days=70), MON - timedelta(days=20), MON, 3),  # Mondays: -14, -7, 0
        (0, 2, MON - timedelta(days=70), MON - timedelta(days=20), MON, 2),  # -14 and 0
        (0, 2, MON - timedelta(days=63), MON - timedelta(days=20), MON, 1),  # -7 only
        (1, 1, MON - timedelta(days=20), MON - timedelta(days=20), MON, 3),  # Tuesdays from start
        (0, 1, MON + timedelta(days=1), MON - timedelta(days=20), MON, 0),  # starts after the end
        (0, 1, MON - timedelta(days=1), MON - timedelta(days=20), MON, 1),  # starts in the window
    ],
)
def test_expected_meetings(weekday, every, starts_on, start, end, expected):
    assert expected_meetings(weekday, every, starts_on, start, end) == expected


def _session(manager, rep, days_ago: int, status=SessionStatus.COMPLETED) -> CoachingSession:
    at = timezone.now() - timedelta(days=days_ago)
    return CoachingSession.objects.create(
        manager=manager,
        rep=rep,
        scheduled_for=at,
        status=status,
        completed_at=at if status == SessionStatus.COMPLETED else None,
        created_by=manager,
    )


def _action(session, *, due: date, status=ActionStatus.OPEN, done_on: date | None = None):
    now = timezone.now()
    return ActionItem.objects.create(
        session=session,
        owner=session.rep,
        title=f"Action due {due}",
        due_date=due,
        status=status,
        completed_at=(
            datetime.combine(done_on, time(12), tzinfo=timezone.get_current_timezone())
            if done_on
            else None
        ),
        created_at=now,
        updated_at=now,
    )


@pytest.fixture
def history(org, processes):
    return build_history(org)


def build_history(org):
    """Cadences, deals, sessions and action items of both teams; returns rep_a1's big deal."""
    today = timezone.localdate()
    for manager, rep in (
        (org.manager_a, org.rep_a1),
        (org.manager_a, org.rep_a2),
        (org.manager_b, org.rep_b1),
    ):
        CoachingCadence.objects.create(
            manager=manager,
            rep=rep,
            every_weeks=1,
            weekday=today.weekday(),
            time_of_day=time(10),
            starts_on=today - timedelta(days=28),
        )
    deal_a1 = make_opportunity(org.rep_a1, amount="90000", name="Big A1")
    make_opportunity(org.rep_a1, amount="5000", name="Small A1")
    make_opportunity(org.rep_a2, amount="20000", name="A2 deal")
    make_opportunity(org.rep_b1, amount="30000", name="B1 deal")
    s1 = _session(org.manager_a, org.rep_a1, 14)
    _session(org.manager_a, org.rep_a1, 7)
    _session(org.manager_a, org.rep_a1, 1)
    _session(org.manager_a, org.rep_a2, 30)  # outside the window
    _session(org.manager_a, org.rep_a2, 2, status=SessionStatus.CANCELLED)
    _session(org.manager_b, org.rep_b1, 3)
    AgendaItem.objects.create(
        session=s1, position=1, kind=ItemKind.DEAL, title="Big A1", opportunity=deal_a1
    )
    _action(
        s1, due=today - timedelta(days=5), status=ActionStatus.DONE, done_on=today - timedelta(6)
    )
    _action(
        s1, due=today - timedelta(days=5), status=ActionStatus.DONE, done_on=today - timedelta(2)
    )
    _action(s1, due=today - timedelta(days=3))  # overdue
    _action(s1, due=today + timedelta(days=3))  # not due yet: not counted
    _action(s1, due=today - timedelta(days=40))  # due before the window: not counted
    return deal_a1


def test_leader_sees_each_manager_below_with_their_numbers(org, history):
    rows, _ = leader_overview(user=org.leader, weeks=3, top_n=10)
    by = {r.manager.username: r for r in rows}
    assert set(by) == {"manager_a", "manager_b"}
    a, b = by["manager_a"], by["manager_b"]
    assert (a.sessions_done, a.sessions_expected) == (3, 6)
    assert a.cadence_kept == pytest.approx(0.5)
    assert (b.sessions_done, b.sessions_expected) == (1, 3)
    assert (a.top_deals, a.top_covered) == (3, 1)
    assert (b.top_deals, b.top_covered) == (1, 0)
    assert (a.on_time, a.late, a.overdue) == (1, 1, 1)
    assert [r.username for r in a.reps_without_session] == ["rep_a2"]
    assert b.reps_without_session == []
    # Top 1 only: the biggest deal, which was discussed.
    rows, _ = leader_overview(user=org.leader, weeks=3, top_n=1)
    a = next(r for r in rows if r.manager.username == "manager_a")
    assert (a.top_deals, a.top_covered) == (1, 1)
    # A 1-week window: only the session 1 day ago counts, rep_a2 still without one.
    rows, _ = leader_overview(user=org.leader, weeks=1)
    a = next(r for r in rows if r.manager.username == "manager_a")
    assert a.sessions_done == 1
    assert a.top_covered == 0


def test_a_manager_sees_only_their_own_row(org, history):
    rows, _ = leader_overview(user=org.manager_b)
    assert [r.manager.username for r in rows] == ["manager_b"]


@pytest.mark.parametrize("who", ["rep_a1", "rep_solo", "admin"])
def test_reps_and_admin_by_role_alone_see_nothing(org, history, who):
    with pytest.raises(NotFound):
        leader_overview(user=getattr(org, who))


def _evidence_met(deal, criterion: str, at: datetime) -> None:
    evidence = Evidence.objects.create(
        opportunity=deal,
        criterion_key=criterion,
        state=EvidenceState.ACTIVE,
        level=EvidenceLevel.REP,
        note="n",
        recorded_at=at,
        updated_at=at,
    )
    EvidenceEvent.objects.create(
        evidence=evidence,
        opportunity=deal,
        criterion_key=criterion,
        action=EvidenceAction.RECORDED,
        at=at,
        state=EvidenceState.ACTIVE,
        level=EvidenceLevel.REP,
    )


def test_effect_compares_a_discussed_deal_with_a_similar_one(org, processes):
    now = timezone.now()
    old = now - timedelta(days=60)
    discussed = make_opportunity(org.rep_a1, name="Discussed", at=old, close_in_days=60)
    similar = make_opportunity(org.rep_a2, name="Similar", at=old, close_in_days=60)
    session = _session(org.manager_a, org.rep_a1, 25)
    AgendaItem.objects.create(
        session=session, position=1, kind=ItemKind.DEAL, title="d", opportunity=discussed
    )
    _evidence_met(discussed, "c1", session.scheduled_for + timedelta(days=2))
    _evidence_met(discussed, "c2", session.scheduled_for + timedelta(days=3))
    _evidence_met(similar, "c1", session.scheduled_for - timedelta(days=20))  # before: no
    view = coaching_effect_for(user=org.leader, manager_id=org.manager_a.id, follow_days=14)
    d = view.deals
    assert (d.discussed.deals, d.discussed.criteria_met) == (1, 2)
    assert d.discussed.per_deal == pytest.approx(2.0)
    assert d.similar.deals == 1
    assert d.similar.per_deal == pytest.approx(0.0)
    assert d.unmatched == 0
    assert "Observational" in d.caveat
    with pytest.raises(NotFound):
        coaching_effect_for(user=org.manager_b, manager_id=org.manager_a.id)
