"""Writes for 1:1 coaching: sessions and their agenda, notes, action items, cadences.

Every service runs in one transaction, re-reads its row under a lock and checks the caller's
``expected_version`` (optimistic locking; a stale one is :class:`VersionConflict`). Who may do
what: the privacy rule of :mod:`milepost.coaching.sessions.selectors` decides who *sees*
(hidden -> :class:`NotFound`, nothing written); among those, only the rep's managers (above the
rep, or the session's own manager) prepare and run sessions. The rep may mark their own action
items done or dropped and add notes to their items. A refusal is :class:`InvalidChange` naming
the field.

The agenda *generation* lives in :mod:`milepost.coaching.agenda.services`; this module does
not read the pipeline beyond checking that a linked deal is the rep's and visible.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext

from milepost.coaching.competencies.selectors import competency_keys
from milepost.coaching.models import (
    ActionItem,
    ActionStatus,
    AgendaItem,
    CoachingCadence,
    CoachingSession,
    ItemKind,
    SessionStatus,
)
from milepost.coaching.sessions.selectors import action_item_get, manages_rep, session_get
from milepost.core.errors import InvalidChange, NotFound, check_version
from milepost.pipeline.selectors import opportunity_get
from milepost.team.models import User

TITLE_MAX = 300
TEXT_MAX = 20_000
OPEN_STATUSES = (SessionStatus.DRAFT, SessionStatus.IN_PROGRESS)


# --------------------------------------------------------------------------------------------
# Helpers


def _clean_title(title: str, field: str = "title") -> str:
    title = (title or "").strip()
    if len(title) < 3:
        raise InvalidChange(gettext("say what it is (at least 3 characters)"), field=field)
    if len(title) > TITLE_MAX:
        raise InvalidChange(
            gettext("at most %(TITLE_MAX)s characters") % {"TITLE_MAX": TITLE_MAX}, field=field
        )
    return title


def _clean_text(text: str, field: str) -> str:
    text = (text or "").strip()
    if len(text) > TEXT_MAX:
        raise InvalidChange(
            gettext("at most %(TEXT_MAX)s characters") % {"TEXT_MAX": TEXT_MAX}, field=field
        )
    return text


def manages_session(user: User, session: CoachingSession) -> bool:
    """The session's own manager, or anyone above its rep in the reporting line."""
    return user.id == session.manager_id or manages_rep(user, session.rep_id)


def _session_for_write(
    *,
    user: User,
    session_id: int,
    expected_version: int | None,
    statuses: tuple[str, ...] = OPEN_STATUSES,
    rep_may: bool = False,
    versioned: bool = True,
) -> CoachingSession:
    """The session, locked: visible (else NotFound), the caller one of its managers (or the rep
    when ``rep_may``), in one of ``statuses`` and at ``expected_version``."""
    session_get(user, session_id)  # NotFound for hidden sessions, before anything else
    session = CoachingSession.objects.select_for_update().get(pk=session_id)
    if not manages_session(user, session) and not (rep_may and user.id == session.rep_id):
        raise InvalidChange(
            gettext("only the rep's manager may change this session"), field="session"
        )
    if versioned:  # a write to the session row itself, not a new row hung from it
        check_version(session.version, expected_version, what="session")
    if session.status not in statuses:
        raise InvalidChange(
            gettext("the session is %(lower)s") % {"lower": session.get_status_display().lower()},
            field="status",
        )
    return session


def _touch(session: CoachingSession) -> CoachingSession:
    session.version += 1
    session.save()
    return session


# --------------------------------------------------------------------------------------------
# Sessions


@transaction.atomic
def session_create(
    *,
    user: User,
    rep_id: int,
    scheduled_for: datetime,
    duration_minutes: int = 30,
    cadence: CoachingCadence | None = None,
    generated_at: datetime | None = None,
) -> CoachingSession:
    """An empty draft 1:1 of ``user`` with ``rep_id``. Only someone above the rep may; to anyone
    else the rep is as good as unknown (NotFound)."""
    if not manages_rep(user, rep_id):
        raise NotFound(gettext("rep not found"))
    if timezone.is_naive(scheduled_for):
        raise InvalidChange(gettext("give the time with its time zone"), field="scheduled_for")
    if not 5 <= duration_minutes <= 480:
        raise InvalidChange(gettext("between 5 and 480 minutes"), field="duration_minutes")
    return CoachingSession.objects.create(
        manager=user,
        rep_id=rep_id,
        scheduled_for=scheduled_for,
        duration_minutes=duration_minutes,
        cadence=cadence,
        generated_at=generated_at,
        created_by=user,
    )


@transaction.atomic
def session_update(
    *,
    user: User,
    session_id: int,
    expected_version: int | None,
    notes: str | None = None,
    decisions: str | None = None,
    scheduled_for: datetime | None = None,
    duration_minutes: int | None = None,
) -> CoachingSession:
    """Session-level notes, decisions and the time (not after completion)."""
    session = _session_for_write(
        user=user, session_id=session_id, expected_version=expected_version
    )
    if notes is not None:
        session.notes = _clean_text(notes, "notes")
    if decisions is not None:
        session.decisions = _clean_text(decisions, "decisions")
    if scheduled_for is not None:
        if timezone.is_naive(scheduled_for):
            raise InvalidChange(gettext("give the time with its time zone"), field="scheduled_for")
        session.scheduled_for = scheduled_for
    if duration_minutes is not None:
        if not 5 <= duration_minutes <= 480:
            raise InvalidChange(gettext("between 5 and 480 minutes"), field="duration_minutes")
        session.duration_minutes = duration_minutes
    return _touch(session)


@transaction.atomic
def session_start(*, user: User, session_id: int, expected_version: int | None) -> CoachingSession:
    """Draft -> in progress: the agenda as it stands is what gets discussed."""
    session = _session_for_write(
        user=user,
        session_id=session_id,
        expected_version=expected_version,
        statuses=(SessionStatus.DRAFT,),
    )
    session.status = SessionStatus.IN_PROGRESS
    session.started_at = timezone.now()
    return _touch(session)


@transaction.atomic
def session_complete(
    *, user: User, session_id: int, expected_version: int | None
) -> CoachingSession:
    """In progress -> completed; notes and agenda are then read-only."""
    session = _session_for_write(
        user=user,
        session_id=session_id,
        expected_version=expected_version,
        statuses=(SessionStatus.IN_PROGRESS,),
    )
    session.status = SessionStatus.COMPLETED
    session.completed_at = timezone.now()
    return _touch(session)


@transaction.atomic
def session_cancel(*, user: User, session_id: int, expected_version: int | None) -> CoachingSession:
    """A draft or running session that will not happen (kept, not deleted, for the record)."""
    session = _session_for_write(
        user=user, session_id=session_id, expected_version=expected_version
    )
    session.status = SessionStatus.CANCELLED
    return _touch(session)


# --------------------------------------------------------------------------------------------
# Agenda items


def _item(session: CoachingSession, item_id: int) -> AgendaItem:
    item = AgendaItem.objects.filter(session=session, pk=item_id).first()
    if item is None:
        raise NotFound(gettext("agenda item not found"))
    return item


def _renumber(session: CoachingSession, ordered: list[AgendaItem]) -> None:
    """Write positions 1..n. Two passes so the unique (session, position) never collides."""
    offset = len(ordered) + 1000
    for n, item in enumerate(ordered, start=1):
        AgendaItem.objects.filter(pk=item.pk).update(position=offset + n)
    for n, item in enumerate(ordered, start=1):
        AgendaItem.objects.filter(pk=item.pk).update(position=n)
        item.position = n


@transaction.atomic
def agenda_item_add(
    *,
    user: User,
    session_id: int,
    expected_version: int | None,
    title: str,
    kind: str = ItemKind.CUSTOM,
    opportunity_id: int | None = None,
    competency: str = "",
    action_item_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> AgendaItem:
    """Append an item (the manager's own by default) at the end of the agenda."""
    session = _session_for_write(
        user=user, session_id=session_id, expected_version=expected_version
    )
    if kind not in ItemKind.values:
        raise InvalidChange(gettext("unknown kind of item"), field="kind")
    title = _clean_title(title)
    if opportunity_id is not None:
        _rep_deal(user=user, session=session, opportunity_id=opportunity_id)
    if competency and competency not in competency_keys():
        raise InvalidChange(
            gettext("unknown competency %(competency)r") % {"competency": competency},
            field="competency",
        )
    last = session.items.aggregate(m=Max("position"))["m"] or 0
    item = AgendaItem.objects.create(
        session=session,
        position=last + 1,
        kind=kind,
        title=title,
        opportunity_id=opportunity_id,
        competency=competency,
        action_item_id=action_item_id,
        detail=detail or {},
    )
    _touch(session)
    return item


@transaction.atomic
def agenda_item_remove(
    *, user: User, session_id: int, item_id: int, expected_version: int | None
) -> CoachingSession:
    """Drop an item from the agenda (the rest close up)."""
    session = _session_for_write(
        user=user, session_id=session_id, expected_version=expected_version
    )
    _item(session, item_id).delete()
    _renumber(session, list(session.items.order_by("position")))
    return _touch(session)


@transaction.atomic
def agenda_item_move(
    *, user: User, session_id: int, item_id: int, direction: str, expected_version: int | None
) -> CoachingSession:
    """Move an item one place ``up`` or ``down`` (the keyboard alternative to dragging).
    Moving the first item up or the last down changes nothing and is not an error."""
    if direction not in ("up", "down"):
        raise InvalidChange(gettext("move up or down"), field="direction")
    session = _session_for_write(
        user=user, session_id=session_id, expected_version=expected_version
    )
    item = _item(session, item_id)
    ordered = list(session.items.order_by("position"))
    at = next(n for n, i in enumerate(ordered) if i.pk == item.pk)
    to = at - 1 if direction == "up" else at + 1
    if 0 <= to < len(ordered):
        ordered[at], ordered[to] = ordered[to], ordered[at]
        _renumber(session, ordered)
    return _touch(session)


@transaction.atomic
def agenda_item_update(
    *,
    user: User,
    session_id: int,
    item_id: int,
    expected_version: int | None,
    title: str | None = None,
    notes: str | None = None,
    discussed: bool | None = None,
    decision: str | None = None,
) -> AgendaItem:
    """Edit an item's title (manager, before completion) or take notes on it / mark it
    discussed / record the decision (the manager; the rep may add notes)."""
    rep_may = title is None and discussed is None and decision is None
    session = _session_for_write(
        user=user, session_id=session_id, expected_version=expected_version, rep_may=rep_may
    )
    item = _item(session, item_id)
    if title is not None:
        item.title = _clean_title(title)
    if notes is not None:
        item.notes = _clean_text(notes, "notes")
    if decision is not None:
        item.decision = _clean_text(decision, "decision")
    if discussed is not None:
        item.discussed = discussed
    item.save()
    _touch(session)
    return item


# --------------------------------------------------------------------------------------------
# Action items


def _rep_deal(*, user: User, session: CoachingSession, opportunity_id: int) -> None:
    """A linked deal must be the rep's and visible to the caller (never reveal other deals)."""
    try:
        opp = opportunity_get(user=user, opportunity_id=opportunity_id)
    except NotFound:
        raise InvalidChange(gettext("not one of the rep's deals"), field="opportunity") from None
    if opp.owner_id != session.rep_id:
        raise InvalidChange(gettext("not one of the rep's deals"), field="opportunity")


def _clean_action(
    *,
    user: User,
    session: CoachingSession,
    owner_id: int,
    opportunity_id: int | None,
    competency: str,
    due_date: date,
) -> None:
    if owner_id not in (session.rep_id, session.manager_id, user.id):
        raise InvalidChange(gettext("the owner is the rep or their manager"), field="owner")
    if owner_id == user.id and not manages_session(user, session):
        raise InvalidChange(gettext("the owner is the rep or their manager"), field="owner")
    if opportunity_id is not None:
        _rep_deal(user=user, session=session, opportunity_id=opportunity_id)
    if competency and competency not in competency_keys():
        raise InvalidChange(
            gettext("unknown competency %(competency)r") % {"competency": competency},
            field="competency",
        )
    if not isinstance(due_date, date):
        raise InvalidChange(gettext("give a due date"), field="due_date")


@transaction.atomic
def action_item_add(
    *,
    user: User,
    session_id: int,
    title: str,
    due_date: date,
    owner_id: int,
    opportunity_id: int | None = None,
    competency: str = "",
) -> ActionItem:
    """An action item from a session (not a completed or cancelled one), owned by the rep or the
    manager, optionally about one of the rep's deals or a competency."""
    session = _session_for_write(
        user=user, session_id=session_id, expected_version=None, versioned=False
    )
    title = _clean_title(title)
    _clean_action(
        user=user,
        session=session,
        owner_id=owner_id,
        opportunity_id=opportunity_id,
        competency=competency,
        due_date=due_date,
    )
    now = timezone.now()
    return ActionItem.objects.create(
        session=session,
        owner_id=owner_id,
        title=title,
        due_date=due_date,
        opportunity_id=opportunity_id,
        competency=competency,
        created_by=user,
        created_at=now,
        updated_at=now,
    )


def _action_for_write(
    *, user: User, action_id: int, expected_version: int | None, owner_may: bool
) -> ActionItem:
    action_item_get(user, action_id)  # NotFound when hidden
    item = ActionItem.objects.select_for_update().select_related("session").get(pk=action_id)
    is_manager = manages_session(user, item.session)
    if not is_manager and not (owner_may and user.id == item.owner_id):
        raise InvalidChange(
            gettext("only the owner or the rep's manager may change it"), field="owner"
        )
    check_version(item.version, expected_version, what="action item")
    return item


@transaction.atomic
def action_item_set_status(
    *, user: User, action_id: int, status: str, expected_version: int | None
) -> ActionItem:
    """Mark done / dropped (or reopen): the owner or the rep's manager."""
    if status not in ActionStatus.values:
        raise InvalidChange(gettext("open, done or dropped"), field="status")
    item = _action_for_write(
        user=user, action_id=action_id, expected_version=expected_version, owner_may=True
    )
    item.status = status
    item.completed_at = timezone.now() if status != ActionStatus.OPEN else None
    item.updated_at = timezone.now()
    item.version += 1
    item.save()
    return item


@transaction.atomic
def action_item_update(
    *,
    user: User,
    action_id: int,
    expected_version: int | None,
    title: str | None = None,
    due_date: date | None = None,
    owner_id: int | None = None,
    opportunity_id: int | str | None = "keep",
    competency: str | None = None,
) -> ActionItem:
    """Edit what the item says, its due date, owner or links (the rep's manager only)."""
    item = _action_for_write(
        user=user, action_id=action_id, expected_version=expected_version, owner_may=False
    )
    if title is not None:
        item.title = _clean_title(title)
    if due_date is not None:
        item.due_date = due_date
    if owner_id is not None:
        item.owner_id = owner_id
    if opportunity_id != "keep":
        item.opportunity_id = opportunity_id  # type: ignore[assignment]
    if competency is not None:
        item.competency = competency
    _clean_action(
        user=user,
        session=item.session,
        owner_id=item.owner_id,
        opportunity_id=item.opportunity_id if opportunity_id != "keep" else None,
        competency=item.competency if competency is not None else "",
        due_date=item.due_date,
    )
    item.updated_at = timezone.now()
    item.version += 1
    item.save()
    return item


# --------------------------------------------------------------------------------------------
# Cadences


WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidChange(
            gettext("unknown time zone %(name)r") % {"name": name}, field="timezone"
        ) from None


@transaction.atomic
def cadence_set(
    *,
    user: User,
    rep_id: int,
    every_weeks: int,
    weekday: int,
    time_of_day: time,
    starts_on: date,
    duration_minutes: int = 30,
    tz: str = "UTC",
    expected_version: int | None = None,
) -> CoachingCadence:
    """Set (create or replace) how often ``user`` meets ``rep_id`` 1:1."""
    if not manages_rep(user, rep_id):
        raise NotFound(gettext("rep not found"))
    if not 1 <= every_weeks <= 12:
        raise InvalidChange(gettext("every 1 to 12 weeks"), field="every_weeks")
    if not 0 <= weekday <= 6:
        raise InvalidChange(gettext("a weekday, 0 (Monday) to 6"), field="weekday")
    if not 5 <= duration_minutes <= 480:
        raise InvalidChange(gettext("between 5 and 480 minutes"), field="duration_minutes")
    if time_of_day.tzinfo is not None:
        # The databases store a wall-clock time (SQLite refused an aware one with a 500); the
        # cadence's ``timezone`` says where that wall clock hangs.
        raise InvalidChange(
            gettext("a wall-clock time without a UTC offset (set the time zone instead)"),
            field="time_of_day",
        )
    _zone(tz)
    cadence = (
        CoachingCadence.objects.select_for_update().filter(manager=user, rep_id=rep_id).first()
    )
    values = dict(
        every_weeks=every_weeks,
        weekday=weekday,
        time_of_day=time_of_day,
        duration_minutes=duration_minutes,
        timezone=tz,
        starts_on=starts_on,
        active=True,
    )
    if cadence is None:
        return CoachingCadence.objects.create(manager=user, rep_id=rep_id, **values)
    check_version(cadence.version, expected_version, what="cadence")
    for name, value in values.items():
        setattr(cadence, name, value)
    cadence.version += 1
    cadence.save()
    return cadence


@transaction.atomic
def cadence_clear(*, user: User, rep_id: int) -> bool:
    """Stop the cadence (its sessions stay). Returns whether there was one."""
    if not manages_rep(user, rep_id):
        raise NotFound(gettext("rep not found"))
    deleted, _ = CoachingCadence.objects.filter(manager=user, rep_id=rep_id).delete()
    return deleted > 0


@dataclass(frozen=True)
class Occurrence:
    start: datetime  # aware, in the cadence's time zone
    end: datetime


def next_sessions(cadence: CoachingCadence, after: datetime, n: int = 1) -> list[Occurrence]:
    """The next ``n`` meetings of ``cadence`` starting at or after ``after`` (aware).

    The first meeting is on the first ``weekday`` on/after ``starts_on``; then every
    ``every_weeks`` weeks at ``time_of_day`` wall-clock time in the cadence's zone (so a
    meeting stays at 10:00 across daylight-saving changes).
    """
    zone = _zone(cadence.timezone)
    first = cadence.starts_on + timedelta(days=(cadence.weekday - cadence.starts_on.weekday()) % 7)
    step = timedelta(weeks=cadence.every_weeks)
    after_day = after.astimezone(zone).date()
    day = first
    if after_day > first:
        periods = (after_day - first).days // step.days
        day = first + periods * step
    out: list[Occurrence] = []
    while len(out) < n:
        start = datetime.combine(day, cadence.time_of_day, tzinfo=zone)
        if start >= after:
            out.append(Occurrence(start, start + timedelta(minutes=cadence.duration_minutes)))
        day += step
    return out
