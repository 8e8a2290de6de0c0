"""Synthetic coaching history for the demo: cadences, 1:1s, agendas, action items, ratings.

The Maven dataset has no coaching at all, so the leader view, the digest and the effect pages
would be empty. For each manager's direct reports this draws the last ``WEEKS`` weeks of a
plausible routine, with a *style* per manager so the leader view shows differences:

* a cadence per rep (weekly, every fourth rep fortnightly) on the manager's weekday;
* a session per planned meeting: completed with the manager's ``keep`` chance, otherwise
  cancelled (missed); a completed session's agenda names 1-3 of the rep's deals open at the
  time (larger deals more likely, with the manager's ``focus`` chance of the largest) and now
  and then a skill item on a core competency;
* 1-2 action items per completed session, due a week later, owned by the rep (sometimes the
  manager), linked to a discussed deal or the skill: past due ones done on time with the
  manager's ``on_time`` chance, else done late (half) or still open (overdue);
* manager ratings (1-5 with an observation) on three competencies at the first and the last
  completed session, the rep's self-assessment at the last.

Pure :func:`coaching_rows` (seeded, deterministic) plus :func:`write_coaching_history`, which
reads the people and deals in three queries and writes everything with ``bulk_create``. It
writes only into an empty coaching history (the import runs again safely).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
from django.db.models import Q

from milepost.coaching.models import (
    ActionItem,
    ActionStatus,
    AgendaItem,
    CoachingCadence,
    CoachingSession,
    ItemKind,
    SessionStatus,
    SkillRating,
)
from milepost.engine.vocabulary import CORE_SKILLS
from milepost.pipeline.models import Opportunity
from milepost.team.models import Role, User

WEEKS = 8
NOTE = "Synthetic demo 1:1 note"
# keep (1:1 held), focus (largest deals discussed), on_time (actions done by their due date)
STYLES = (
    (0.95, 0.85, 0.85),
    (0.8, 0.6, 0.65),
    (0.55, 0.35, 0.4),
)
OBSERVATIONS = {
    1: "Struggles here; needs a worked example before the next call.",
    2: "Inconsistent: good when prepared, weak under pressure.",
    3: "Solid on routine deals, less so on complex ones.",
    4: "Strong; could coach peers on it.",
    5: "Role model on this skill.",
}


@dataclass(frozen=True)
class DealRow:
    id: int
    owner_id: int
    name: str
    amount: float
    created_at: datetime
    closed_at: datetime | None


def _open_at(deal: DealRow, at: datetime) -> bool:
    return deal.created_at <= at and (deal.closed_at is None or deal.closed_at > at)


def coaching_rows(
    teams: Sequence[tuple[int, Sequence[int]]],
    deals: Sequence[DealRow],
    *,
    today: date,
    seed: int,
) -> dict[str, list[dict[str, Any]]]:
    """Plain rows for cadences, sessions, agenda items, action items and ratings.

    ``teams``: (manager id, rep ids) in a stable order. Sessions are referred to by index
    (``session``) in the other lists. Deterministic for the same inputs and seed.
    """
    rng = np.random.default_rng(seed)
    by_owner: dict[int, list[DealRow]] = {}
    for d in sorted(deals, key=lambda d: d.id):
        by_owner.setdefault(d.owner_id, []).append(d)
    out: dict[str, list[dict[str, Any]]] = {
        k: [] for k in ("cadences", "sessions", "items", "actions", "ratings")
    }
    first_week = today - timedelta(days=7 * WEEKS)
    for m_index, (manager_id, rep_ids) in enumerate(teams):
        keep, focus, on_time = STYLES[m_index % len(STYLES)]
        weekday = m_index % 5
        for r_index, rep_id in enumerate(rep_ids):
            every = 2 if r_index % 4 == 3 else 1
            starts_on = first_week - timedelta(days=first_week.weekday() - weekday + 7)
            hour = 9 + r_index % 8
            out["cadences"].append(
                {
                    "manager": manager_id,
                    "rep": rep_id,
                    "every_weeks": every,
                    "weekday": weekday,
                    "time_of_day": time(hour),
                    "starts_on": starts_on,
                }
            )
            completed: list[int] = []
            day = starts_on
            while day < today:
                if day >= first_week:
                    at = datetime.combine(day, time(hour), tzinfo=UTC)
                    held = bool(rng.random() < keep)
                    index = len(out["sessions"])
                    out["sessions"].append(
                        {
                            "manager": manager_id,
                            "rep": rep_id,
                            "rep_index": len(out["cadences"]) - 1,
                            "scheduled_for": at,
                            "status": SessionStatus.COMPLETED if held else SessionStatus.CANCELLED,
                        }
                    )
                    if held:
                        completed.append(index)
                        _agenda(
                            out,
                            rng,
                            index,
                            at,
                            by_owner.get(rep_id, []),
                            focus,
                            on_time,
                            today,
                            rep_id,
                            manager_id,
                        )
                day += timedelta(days=7 * every)
            _ratings(out, rng, completed, rep_id, manager_id)
    return out


def _agenda(
    out: dict[str, list[dict[str, Any]]],
    rng: np.random.Generator,
    session: int,
    at: datetime,
    deals: list[DealRow],
    focus: float,
    on_time: float,
    today: date,
    rep_id: int,
    manager_id: int,
) -> None:
    open_deals = sorted((d for d in deals if _open_at(d, at)), key=lambda d: (-d.amount, d.id))
    chosen: list[DealRow] = []
    if open_deals:
        n = min(len(open_deals), int(rng.integers(1, 4)))
        if rng.random() < focus:
            chosen = open_deals[:n]
        else:
            picks = rng.choice(len(open_deals), size=n, replace=False)
            chosen = [open_deals[int(i)] for i in sorted(picks)]
    position = 1
    for deal in chosen:
        out["items"].append(
            {
                "session": session,
                "position": position,
                "kind": ItemKind.DEAL,
                "title": deal.name[:300],
                "opportunity": deal.id,
                "competency": "",
            }
        )
        position += 1
    skill = ""
    if rng.random() < 0.4:
        skill = CORE_SKILLS[int(rng.integers(len(CORE_SKILLS)))]
        out["items"].append(
            {
                "session": session,
                "position": position,
                "kind": ItemKind.SKILL,
                "title": f"Skill: {skill.replace('_', ' ')}",
                "opportunity": None,
                "competency": skill,
            }
        )
    for k in range(int(rng.integers(1, 3))):
        deal = chosen[k] if k < len(chosen) else None
        due = at.date() + timedelta(days=7)
        status, completed_at = ActionStatus.OPEN, None
        if due < today:
            u = rng.random()
            if u < on_time:
                status = ActionStatus.DONE
                completed_at = at + timedelta(days=int(rng.integers(1, 7)), hours=2)
            elif u < on_time + (1 - on_time) / 2:
                status = ActionStatus.DONE
                completed_at = at + timedelta(days=7 + int(rng.integers(1, 10)), hours=2)
                if completed_at.date() >= today:
                    status, completed_at = ActionStatus.OPEN, None
        out["actions"].append(
            {
                "session": session,
                "owner": manager_id if rng.random() < 0.2 else rep_id,
                "title": (
                    f"Confirm the next step with the buyer on {deal.name}"[:300]
                    if deal
                    else f"Practise {skill.replace('_', ' ')} on two calls"
                    if skill
                    else "Update close dates and next steps of open deals"
                ),
                "due_date": due,
                "opportunity": deal.id if deal else None,
                "competency": "" if deal else skill,
                "status": status,
                "completed_at": completed_at,
                "created_at": at,
            }
        )


def _ratings(
    out: dict[str, list[dict[str, Any]]],
    rng: np.random.Generator,
    completed: list[int],
    rep_id: int,
    manager_id: int,
) -> None:
    if not completed:
        return
    skills = [CORE_SKILLS[int(i)] for i in rng.choice(len(CORE_SKILLS), size=3, replace=False)]
    base = {s: int(rng.integers(2, 5)) for s in skills}
    first, last = completed[0], completed[-1]
    for s in skills:
        later = min(5, base[s] + int(rng.random() < 0.4)) if last != first else base[s]
        rows = [(first, base[s], manager_id, False)]
        if last != first:
            rows.append((last, later, manager_id, False))
        rows.append((last, min(5, later + int(rng.random() < 0.5)), rep_id, True))
        for session, score, rater, is_self in rows:
            out["ratings"].append(
                {
                    "session": session,
                    "rep": rep_id,
                    "rater": rater,
                    "competency": s,
                    "score": score,
                    "observation": OBSERVATIONS[score],
                    "is_self": is_self,
                }
            )


def write_coaching_history(*, today: date, seed: int) -> dict[str, int]:
    """Write :func:`coaching_rows` for every manager's direct reps (once: nothing when any
    coaching session exists already). Returns the counts written."""
    if CoachingSession.objects.exists():
        return {}
    reps = list(
        User.objects.filter(role=Role.REP, is_active=True, manager__role=Role.MANAGER)
        .order_by("manager__username", "username")
        .values_list("manager_id", "id")
    )
    teams: dict[int, list[int]] = {}
    for manager_id, rep_id in reps:
        teams.setdefault(manager_id, []).append(rep_id)
    since = datetime.combine(today - timedelta(days=7 * (WEEKS + 1)), time.min, tzinfo=UTC)
    deals = [
        DealRow(*row)
        for row in Opportunity.objects.filter(owner_id__in=[r for _, r in reps])
        .filter(Q(closed_at__isnull=True) | Q(closed_at__gte=since))
        .order_by("id")
        .values_list("id", "owner_id", "name", "amount", "created_at", "closed_at")
    ]
    deals = [
        DealRow(d.id, d.owner_id, d.name, float(d.amount), d.created_at, d.closed_at) for d in deals
    ]
    rows = coaching_rows(list(teams.items()), deals, today=today, seed=seed)
    cadences = CoachingCadence.objects.bulk_create(
        [
            CoachingCadence(
                manager_id=c["manager"],
                rep_id=c["rep"],
                every_weeks=c["every_weeks"],
                weekday=c["weekday"],
                time_of_day=c["time_of_day"],
                starts_on=c["starts_on"],
            )
            for c in rows["cadences"]
        ]
    )
    sessions = CoachingSession.objects.bulk_create(
        [
            CoachingSession(
                manager_id=s["manager"],
                rep_id=s["rep"],
                cadence=cadences[s["rep_index"]],
                scheduled_for=s["scheduled_for"],
                status=s["status"],
                started_at=s["scheduled_for"] if s["status"] == SessionStatus.COMPLETED else None,
                completed_at=(
                    s["scheduled_for"] + timedelta(minutes=30)
                    if s["status"] == SessionStatus.COMPLETED
                    else None
                ),
                notes=NOTE if s["status"] == SessionStatus.COMPLETED else "",
                created_by_id=s["manager"],
            )
            for s in rows["sessions"]
        ],
        batch_size=2_000,
    )
    if any(s.pk is None for s in sessions):  # pragma: no cover - backends without RETURNING
        raise RuntimeError("the database did not return the new sessions' ids")
    AgendaItem.objects.bulk_create(
        [
            AgendaItem(
                session=sessions[i["session"]],
                position=i["position"],
                kind=i["kind"],
                title=i["title"],
                opportunity_id=i["opportunity"],
                competency=i["competency"],
                discussed=True,
                notes=NOTE,
            )
            for i in rows["items"]
        ],
        batch_size=2_000,
    )
    ActionItem.objects.bulk_create(
        [
            ActionItem(
                session=sessions[a["session"]],
                owner_id=a["owner"],
                title=a["title"],
                due_date=a["due_date"],
                opportunity_id=a["opportunity"],
                competency=a["competency"],
                status=a["status"],
                completed_at=a["completed_at"],
                created_by_id=sessions[a["session"]].manager_id,
                created_at=a["created_at"],
                updated_at=a["completed_at"] or a["created_at"],
            )
            for a in rows["actions"]
        ],
        batch_size=2_000,
    )
    SkillRating.objects.bulk_create(
        [
            SkillRating(
                rep_id=r["rep"],
                rater_id=r["rater"],
                competency=r["competency"],
                score=r["score"],
                observation=r["observation"],
                is_self=r["is_self"],
                session=sessions[r["session"]],
                rated_at=sessions[r["session"]].scheduled_for + timedelta(minutes=30),
            )
            for r in rows["ratings"]
        ],
        batch_size=2_000,
    )
    return {
        "coaching_cadences": len(rows["cadences"]),
        "coaching_sessions": len(rows["sessions"]),
        "coaching_agenda_items": len(rows["items"]),
        "coaching_action_items": len(rows["actions"]),
        "skill_ratings": len(rows["ratings"]),
    }
