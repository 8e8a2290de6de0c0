"""Reads of coaching records, always scoped by THE privacy rule (the only place it lives).

The rule: a user may see a rep's coaching records (sessions, notes, action items, ratings) iff
the user IS the rep, or the rep reports to the user at any depth, or the user is the manager
of the session. Sales-ops admins see every *deal* but not every coaching conversation, so the
admin role grants nothing here; peers never see each other's records. Hidden rows answer
:class:`NotFound` (404), exactly like missing ones.

Who may *write* is narrower and lives in :func:`manages_rep`: only people above the rep in the
reporting line prepare sessions, agendas and ratings for them.
"""

from __future__ import annotations

from datetime import date

from django.db.models import Q, QuerySet

from milepost.coaching.models import (
    ActionItem,
    ActionStatus,
    CoachingCadence,
    CoachingSession,
    SessionStatus,
)
from milepost.core.errors import NotFound
from milepost.team.models import User
from milepost.team.selectors import subordinate_ids


def coaching_visible_rep_ids(user: User) -> set[int]:
    """Reps whose coaching records ``user`` may see by the reporting line: self and below.

    Deliberately ignores the admin role (see the module docstring). Sessions the user ran as
    manager are added by :func:`session_scope` even if the rep has since moved teams.
    """
    if not user.is_authenticated or not user.is_active:
        return set()
    return {user.id} | subordinate_ids(user.id)


def manages_rep(user: User, rep_id: int) -> bool:
    """Whether ``user`` is above ``rep_id`` in the reporting line (may prepare 1:1s for them)."""
    if not user.is_authenticated or not user.is_active or user.id == rep_id:
        return False
    return rep_id in subordinate_ids(user.id)


def _visible_q(user: User, rep_field: str, manager_field: str) -> Q:
    ids = coaching_visible_rep_ids(user)
    if not ids:
        return Q(pk__in=[])
    return Q(**{f"{rep_field}__in": ids}) | Q(**{manager_field: user.id})


def session_scope(user: User) -> QuerySet[CoachingSession]:
    """Every session ``user`` may see; all other session reads start here."""
    return CoachingSession.objects.filter(_visible_q(user, "rep_id", "manager_id"))


def session_get(user: User, session_id: int) -> CoachingSession:
    """One visible session, or :class:`NotFound` whether it is missing or hidden."""
    session = (
        session_scope(user)
        .select_related("manager", "rep", "cadence")
        .filter(id=session_id)
        .first()
    )
    if session is None:
        raise NotFound("session not found")
    return session


def action_item_scope(user: User) -> QuerySet[ActionItem]:
    """Every action item ``user`` may see: those of sessions they may see."""
    return ActionItem.objects.filter(_visible_q(user, "session__rep_id", "session__manager_id"))


def action_item_get(user: User, action_id: int) -> ActionItem:
    """One visible action item, or :class:`NotFound`."""
    item = (
        action_item_scope(user)
        .select_related("session", "session__rep", "session__manager", "owner", "opportunity")
        .filter(id=action_id)
        .first()
    )
    if item is None:
        raise NotFound("action item not found")
    return item


def sessions_for_rep(*, user: User, rep_id: int) -> QuerySet[CoachingSession]:
    """A rep's sessions as ``user`` may see them, newest first."""
    return session_scope(user).filter(rep_id=rep_id).select_related("manager", "rep")


def open_action_items_for_rep(*, user: User, rep_id: int) -> QuerySet[ActionItem]:
    """Open action items from the rep's sessions (owned by the rep or their manager)."""
    return (
        action_item_scope(user)
        .filter(session__rep_id=rep_id, status=ActionStatus.OPEN)
        .select_related("owner", "opportunity", "session")
    )


def open_action_items_for_deal(*, user: User, opportunity_id: int) -> QuerySet[ActionItem]:
    """Open action items linked to a deal, only those ``user`` may see (the deal page shows
    them, and a sales-ops admin seeing the deal does not make its coaching visible)."""
    return (
        action_item_scope(user)
        .filter(opportunity_id=opportunity_id, status=ActionStatus.OPEN)
        .select_related("owner", "session")
    )


def overdue_action_items(*, user: User, today: date) -> QuerySet[ActionItem]:
    """Open items past their due date, as ``user`` may see them."""
    return (
        action_item_scope(user)
        .filter(status=ActionStatus.OPEN, due_date__lt=today)
        .select_related("owner", "session", "opportunity")
    )


def overdue_counts_by_rep(*, user: User, today: date) -> dict[int, int]:
    """Overdue open items per rep (the session's rep), for inspection's per-rep columns."""
    counts: dict[int, int] = {}
    for rep_id in overdue_action_items(user=user, today=today).values_list(
        "session__rep_id", flat=True
    ):
        counts[rep_id] = counts.get(rep_id, 0) + 1
    return counts


def last_and_next_sessions(
    *, user: User, rep_ids: set[int] | list[int]
) -> dict[int, dict[str, CoachingSession | None]]:
    """For each rep: the last completed session and the next not-completed one (visible only)."""
    out: dict[int, dict[str, CoachingSession | None]] = {
        r: {"last": None, "next": None} for r in rep_ids
    }
    qs = session_scope(user).filter(rep_id__in=list(rep_ids)).order_by("scheduled_for", "id")
    for s in qs:
        slot = out[s.rep_id]
        if s.status == SessionStatus.COMPLETED:
            slot["last"] = s
        elif s.status in (SessionStatus.DRAFT, SessionStatus.IN_PROGRESS) and slot["next"] is None:
            slot["next"] = s
    return out


def cadence_for(*, user: User, rep_id: int) -> CoachingCadence | None:
    """The cadence ``user`` runs with ``rep_id``, if visible and set."""
    if rep_id not in coaching_visible_rep_ids(user):
        return None
    return CoachingCadence.objects.filter(manager_id=user.id, rep_id=rep_id).first()
