"""Session and action item services: who may do what in which status, optimistic locking,
agenda order, cadences. Table-driven; each case names the rule it checks."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from milepost.coaching.models import (
    ActionItem,
    ActionStatus,
    AgendaItem,
    CoachingCadence,
    CoachingSession,
    SessionStatus,
)
from milepost.coaching.sessions import services as svc
from milepost.core.errors import InvalidChange, NotFound, VersionConflict
from milepost.testing.factories import make_opportunity

pytestmark = pytest.mark.django_db
WHEN = datetime(2030, 1, 8, 10, 0, tzinfo=ZoneInfo("UTC"))


@pytest.fixture
def session(org, processes) -> CoachingSession:
    s = svc.session_create(user=org.manager_a, rep_id=org.rep_a1.id, scheduled_for=WHEN)
    for title in ("First", "Second", "Third"):
        svc.agenda_item_add(
            user=org.manager_a, session_id=s.id, expected_version=s.version, title=title
        )
        s.refresh_from_db()
    return s


def titles(session: CoachingSession) -> list[str]:
    return list(session.items.order_by("position").values_list("title", flat=True))


@pytest.mark.parametrize(
    ("who", "rep", "outcome"),
    [
        ("manager_a", "rep_a1", "ok"),  # direct manager
        ("leader", "rep_a1", "ok"),  # above the rep
        ("manager_b", "rep_a1", NotFound),  # another team's manager
        ("admin", "rep_a1", NotFound),  # sales-ops admin: no coaching by role
        ("rep_a2", "rep_a1", NotFound),  # peer
        ("rep_a1", "rep_a1", NotFound),  # nobody prepares their own 1:1
        ("manager_a", "rep_b1", NotFound),
    ],
)
def test_who_may_create_a_session(org, who, rep, outcome):
    def create():
        return svc.session_create(
            user=getattr(org, who), rep_id=getattr(org, rep).id, scheduled_for=WHEN
        )

    if outcome == "ok":
        assert create().manager == getattr(org, who)
    else:
        with pytest.raises(outcome):
            create()
        assert CoachingSession.objects.count() == 0


def test_naive_time_is_refused(org):
    with pytest.raises(InvalidChange) as exc:
        svc.session_create(
            user=org.manager_a, rep_id=org.rep_a1.id, scheduled_for=datetime(2030, 1, 1, 10)
        )
    assert exc.value.field == "scheduled_for"


@pytest.mark.parametrize(
    ("moves", "expected"),
    [
        ([("Second", "up")], ["Second", "First", "Third"]),
        ([("Second", "down")], ["First", "Third", "Second"]),
        ([("First", "up")], ["First", "Second", "Third"]),  # already first: no change
        ([("Third", "down")], ["First", "Second", "Third"]),  # already last
        ([("Third", "up"), ("Third", "up")], ["Third", "First", "Second"]),
    ],
)
def test_moving_items(org, session, moves, expected):
    for title, direction in moves:
        item = session.items.get(title=title)
        session.refresh_from_db()
        svc.agenda_item_move(
            user=org.manager_a,
            session_id=session.id,
            item_id=item.id,
            direction=direction,
            expected_version=session.version,
        )
    assert titles(session) == expected
    assert list(session.items.order_by("position").values_list("position", flat=True)) == [1, 2, 3]


def test_remove_closes_up_positions(org, session):
    item = session.items.get(title="Second")
    svc.agenda_item_remove(
        user=org.manager_a, session_id=session.id, item_id=item.id, expected_version=session.version
    )
    assert titles(session) == ["First", "Third"]
    assert list(session.items.values_list("position", flat=True).order_by("position")) == [1, 2]


def test_stale_version_is_a_conflict_and_writes_nothing(org, session):
    stale = session.version - 1
    with pytest.raises(VersionConflict) as exc:
        svc.agenda_item_add(
            user=org.manager_a, session_id=session.id, expected_version=stale, title="Late"
        )
    assert exc.value.current_version == session.version
    assert titles(session) == ["First", "Second", "Third"]


@pytest.mark.parametrize(
    ("status", "action", "outcome"),
    [
        (SessionStatus.DRAFT, "start", SessionStatus.IN_PROGRESS),
        (SessionStatus.DRAFT, "complete", InvalidChange),  # start first
        (SessionStatus.IN_PROGRESS, "complete", SessionStatus.COMPLETED),
        (SessionStatus.IN_PROGRESS, "start", InvalidChange),
        (SessionStatus.COMPLETED, "cancel", InvalidChange),
        (SessionStatus.COMPLETED, "add_item", InvalidChange),  # completed is read-only
        (SessionStatus.COMPLETED, "notes", InvalidChange),
        (SessionStatus.CANCELLED, "start", InvalidChange),
        (SessionStatus.DRAFT, "cancel", SessionStatus.CANCELLED),
        (SessionStatus.IN_PROGRESS, "notes", SessionStatus.IN_PROGRESS),
    ],
)
def test_status_rules(org, session, status, action, outcome):
    CoachingSession.objects.filter(pk=session.pk).update(status=status)
    calls = {
        "start": lambda: svc.session_start(
            user=org.manager_a, session_id=session.id, expected_version=session.version
        ),
        "complete": lambda: svc.session_complete(
            user=org.manager_a, session_id=session.id, expected_version=session.version
        ),
        "cancel": lambda: svc.session_cancel(
            user=org.manager_a, session_id=session.id, expected_version=session.version
        ),
        "add_item": lambda: svc.agenda_item_add(
            user=org.manager_a,
            session_id=session.id,
            expected_version=session.version,
            title="More",
        ),
        "notes": lambda: svc.session_update(
            user=org.manager_a, session_id=session.id, expected_version=session.version, notes="n"
        ),
    }
    if isinstance(outcome, type):
        version = CoachingSession.objects.get(pk=session.pk).version
        with pytest.raises(outcome):
            calls[action]()
        assert CoachingSession.objects.get(pk=session.pk).version == version
    else:
        calls[action]()
        assert CoachingSession.objects.get(pk=session.pk).status == outcome


@pytest.mark.parametrize(
    ("who", "fields", "outcome"),
    [
        ("manager_a", {"notes": "n", "decision": "d", "discussed": True}, "ok"),
        ("leader", {"title": "Renamed"}, "ok"),
        ("rep_a1", {"notes": "my prep"}, "ok"),  # the rep adds notes to the items
        ("rep_a1", {"decision": "d"}, InvalidChange),
        ("rep_a1", {"title": "Renamed"}, InvalidChange),
        ("rep_a2", {"notes": "peek"}, NotFound),
        ("admin", {"notes": "peek"}, NotFound),
    ],
)
def test_item_updates(org, session, who, fields, outcome):
    item = session.items.get(title="First")

    def update():
        return svc.agenda_item_update(
            user=getattr(org, who),
            session_id=session.id,
            item_id=item.id,
            expected_version=session.version,
            **fields,
        )

    if outcome == "ok":
        updated = update()
        for name, value in fields.items():
            assert getattr(updated, name) == value
    else:
        with pytest.raises(outcome):
            update()
        fresh = AgendaItem.objects.get(pk=item.pk)
        assert (fresh.title, fresh.notes, fresh.decision) == ("First", "", "")


@pytest.mark.parametrize(
    ("owner", "deal_of", "competency", "field"),
    [
        ("rep_a1", None, "", None),
        ("manager_a", None, "objection_handling", None),
        ("rep_a2", None, "", "owner"),  # owner is the rep or their manager
        ("rep_a1", "rep_a2", "", "opportunity"),  # a peer's deal, visible to the manager
        ("rep_a1", "rep_b1", "", "opportunity"),  # a deal the manager cannot see
        ("rep_a1", None, "juggling", "competency"),
    ],
)
def test_action_item_rules(org, session, owner, deal_of, competency, field):
    deal = make_opportunity(getattr(org, deal_of)) if deal_of else None

    def add():
        return svc.action_item_add(
            user=org.manager_a,
            session_id=session.id,
            title="Follow up",
            due_date=date(2030, 2, 1),
            owner_id=getattr(org, owner).id,
            opportunity_id=deal.id if deal else None,
            competency=competency,
        )

    if field is None:
        assert add().owner == getattr(org, owner)
    else:
        with pytest.raises(InvalidChange) as exc:
            add()
        assert exc.value.field == field
        assert ActionItem.objects.count() == 0


def test_action_item_with_the_reps_own_deal(org, session):
    deal = make_opportunity(org.rep_a1)
    item = svc.action_item_add(
        user=org.manager_a,
        session_id=session.id,
        title="Map the paper process",
        due_date=date(2030, 2, 1),
        owner_id=org.rep_a1.id,
        opportunity_id=deal.id,
    )
    assert item.opportunity_id == deal.id


@pytest.mark.parametrize(
    ("owner", "who", "outcome"),
    [
        ("rep_a1", "rep_a1", "ok"),  # the owner
        ("rep_a1", "manager_a", "ok"),  # the manager
        ("rep_a1", "leader", "ok"),
        ("manager_a", "rep_a1", InvalidChange),  # the rep may not close the manager's item
        ("rep_a1", "rep_a2", NotFound),
        ("rep_a1", "admin", NotFound),
    ],
)
def test_action_status_rules(org, session, owner, who, outcome):
    item = svc.action_item_add(
        user=org.manager_a,
        session_id=session.id,
        title="Follow up",
        due_date=date(2030, 2, 1),
        owner_id=getattr(org, owner).id,
    )

    def mark():
        return svc.action_item_set_status(
            user=getattr(org, who), action_id=item.id, status="done", expected_version=1
        )

    if outcome == "ok":
        done = mark()
        assert done.status == ActionStatus.DONE
        assert done.completed_at is not None
        assert done.version == 2
    else:
        with pytest.raises(outcome):
            mark()
        assert ActionItem.objects.get(pk=item.pk).status == ActionStatus.OPEN


def test_action_status_stale_version(org, session):
    item = svc.action_item_add(
        user=org.manager_a,
        session_id=session.id,
        title="Follow up",
        due_date=date(2030, 2, 1),
        owner_id=org.rep_a1.id,
    )
    svc.action_item_set_status(
        user=org.rep_a1, action_id=item.id, status="done", expected_version=1
    )
    with pytest.raises(VersionConflict):
        svc.action_item_set_status(
            user=org.manager_a, action_id=item.id, status="dropped", expected_version=1
        )
    assert ActionItem.objects.get(pk=item.pk).status == ActionStatus.DONE


def test_action_item_edit_by_the_manager_only(org, session):
    item = svc.action_item_add(
        user=org.manager_a,
        session_id=session.id,
        title="Follow up",
        due_date=date(2030, 2, 1),
        owner_id=org.rep_a1.id,
    )
    with pytest.raises(InvalidChange):
        svc.action_item_update(
            user=org.rep_a1, action_id=item.id, expected_version=1, title="Mine now"
        )
    edited = svc.action_item_update(
        user=org.manager_a,
        action_id=item.id,
        expected_version=1,
        title="Follow up with legal",
        due_date=date(2030, 3, 1),
    )
    assert (edited.title, edited.due_date, edited.version) == (
        "Follow up with legal",
        date(2030, 3, 1),
        2,
    )


# --- cadences --------------------------------------------------------------------------------


def cadence(**kw) -> CoachingCadence:
    values = dict(
        every_weeks=1,
        weekday=1,
        time_of_day=time(10, 0),
        duration_minutes=30,
        timezone="Europe/Paris",
        starts_on=date(2030, 1, 1),  # a Tuesday
        active=True,
    )
    values.update(kw)
    return CoachingCadence(**values)


PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    ("kw", "after", "expected"),
    [
        # weekly on Tuesday from a Tuesday: the start day itself
        ({}, datetime(2029, 12, 1, tzinfo=PARIS), [date(2030, 1, 1), date(2030, 1, 8)]),
        # after 10:00 on a meeting day: the next week
        ({}, datetime(2030, 1, 8, 11, tzinfo=PARIS), [date(2030, 1, 15), date(2030, 1, 22)]),
        # exactly at 10:00: that meeting counts
        ({}, datetime(2030, 1, 8, 10, tzinfo=PARIS), [date(2030, 1, 8), date(2030, 1, 15)]),
        # every two weeks on Thursday, starting on a Tuesday: first Thursday, then fortnightly
        (
            {"every_weeks": 2, "weekday": 3},
            datetime(2030, 1, 4, tzinfo=PARIS),
            [date(2030, 1, 17), date(2030, 1, 31)],
        ),
    ],
)
def test_next_sessions(kw, after, expected):
    got = svc.next_sessions(cadence(**kw), after, 2)
    assert [o.start.date() for o in got] == expected
    assert all(o.start.timetz().replace(tzinfo=None) == time(10, 0) for o in got)
    assert all(o.end - o.start == timedelta(minutes=30) for o in got)


def test_next_sessions_keep_wall_clock_time_across_daylight_saving():
    got = svc.next_sessions(
        cadence(starts_on=date(2030, 3, 19)), datetime(2030, 3, 18, tzinfo=PARIS), 3
    )
    utc_hours = [o.start.astimezone(ZoneInfo("UTC")).hour for o in got]
    assert [o.start.hour for o in got] == [10, 10, 10]
    assert utc_hours == [9, 9, 8]  # Paris moves to summer time on 31 March 2030


@pytest.mark.parametrize(
    ("who", "kw", "outcome"),
    [
        ("manager_a", {}, "ok"),
        ("manager_a", {"tz": "Mars/Olympus"}, "timezone"),
        ("manager_a", {"every_weeks": 0}, "every_weeks"),
        ("manager_a", {"weekday": 7}, "weekday"),
        ("rep_a1", {}, NotFound),
        ("manager_b", {}, NotFound),
        ("admin", {}, NotFound),
    ],
)
def test_cadence_set_rules(org, who, kw, outcome):
    args = dict(
        every_weeks=1, weekday=1, time_of_day=time(10), starts_on=date(2030, 1, 1), tz="UTC"
    )
    args.update(kw)

    def go(**more):
        return svc.cadence_set(user=getattr(org, who), rep_id=org.rep_a1.id, **args, **more)

    if outcome == "ok":
        first = go()
        with pytest.raises(InvalidChange) as unread:  # replacing it needs the version read
            go()
        assert unread.value.field == "version"
        second = go(expected_version=first.version)
        assert first.pk == second.pk
        assert second.version == 2
    elif isinstance(outcome, str):
        with pytest.raises(InvalidChange) as exc:
            go()
        assert exc.value.field == outcome
    else:
        with pytest.raises(outcome):
            go()
    assert CoachingCadence.objects.count() == (1 if outcome == "ok" else 0)


def test_cadence_clear(org):
    svc.cadence_set(
        user=org.manager_a,
        rep_id=org.rep_a1.id,
        every_weeks=1,
        weekday=1,
        time_of_day=time(10),
        starts_on=timezone.localdate(),
    )
    assert svc.cadence_clear(user=org.manager_a, rep_id=org.rep_a1.id) is True
    assert svc.cadence_clear(user=org.manager_a, rep_id=org.rep_a1.id) is False
