"""Leader endpoints of the REST API: the coaching routine per manager, its observational
effect, and a manager's weekly digest. Same reads and privacy rule as the pages: nothing
visible (a rep, a sales-ops admin by role alone, a manager outside your line) is a 404."""

from __future__ import annotations

from datetime import date

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema
from pydantic import Field

from milepost.coaching.digest import digest_for
from milepost.coaching.leaders import (
    DEFAULT_TOP_N,
    DEFAULT_WEEKS,
    EFFECT_WEEKS,
    FOLLOW_DAYS,
    MAX_WEEKS,
    coaching_effect_for,
    leader_overview,
    visible_managers,
)
from milepost.core.errors import NotFound
from milepost.core.schemas import ErrorOut
from milepost.engine.coaching_effect import CAVEAT

router = Router(tags=["coaching"])


class PersonOut(Schema):
    id: int
    name: str


class ManagerRowOut(Schema):
    manager: PersonOut
    reps: int
    sessions_done: int
    sessions_expected: int
    cadence_kept: float | None
    top_deals: int
    top_covered: int
    covered_share: float | None
    actions_on_time: int
    actions_late: int
    actions_overdue: int
    on_time_share: float | None
    reps_without_session: list[PersonOut]


class OverviewOut(Schema):
    weeks: int
    window_start: date
    window_end: date
    top_n: int
    managers: list[ManagerRowOut]


class OverviewQuery(Schema):
    weeks: int = Field(DEFAULT_WEEKS, ge=1, le=MAX_WEEKS)
    top: int = Field(DEFAULT_TOP_N, ge=1, le=100)


def _person(user) -> dict:  # type: ignore[no-untyped-def]
    return {"id": user.id, "name": str(user)}


@router.get("/coaching/leaders", response={200: OverviewOut, 404: ErrorOut})
def overview(request: HttpRequest, query: Query[OverviewQuery]):
    """Per manager you may see: cadence kept, top-risk deals covered, action items on time,
    reps without a completed 1:1 in the last ``weeks`` weeks."""
    rows, win = leader_overview(user=request.auth, weeks=query.weeks, top_n=query.top)
    return {
        "weeks": win.weeks,
        "window_start": win.start,
        "window_end": win.end,
        "top_n": query.top,
        "managers": [
            {
                "manager": _person(r.manager),
                "reps": len(r.reps),
                "sessions_done": r.sessions_done,
                "sessions_expected": r.sessions_expected,
                "cadence_kept": r.cadence_kept,
                "top_deals": r.top_deals,
                "top_covered": r.top_covered,
                "covered_share": r.covered_share,
                "actions_on_time": r.on_time,
                "actions_late": r.late,
                "actions_overdue": r.overdue,
                "on_time_share": r.on_time_share,
                "reps_without_session": [_person(u) for u in r.reps_without_session],
            }
            for r in rows
        ],
    }


class ArmOut(Schema):
    exposures: int
    deals: int
    criteria_met: int
    with_any: int
    per_deal: float
    share_with_any: float


class CompetencyEffectOut(Schema):
    rep: PersonOut
    competency: str
    coached_on: date
    indicators: list[str]
    before_rate: float | None
    after_rate: float | None
    before_deals: int
    after_deals: int
    team_before_rate: float | None
    team_after_rate: float | None


class EffectOut(Schema):
    manager: PersonOut
    weeks: int
    follow_days: int
    caveat: str
    discussed: ArmOut
    similar: ArmOut
    strata: int
    unmatched: int
    censored: int
    competencies: list[CompetencyEffectOut]


class EffectQuery(Schema):
    weeks: int = Field(EFFECT_WEEKS, ge=2, le=MAX_WEEKS)
    follow: int = Field(FOLLOW_DAYS, ge=1, le=60)


@router.get("/coaching/leaders/{manager_id}/effect", response={200: EffectOut, 404: ErrorOut})
def effect(request: HttpRequest, manager_id: int, query: Query[EffectQuery]):
    """Observational: criteria met after discussed deals vs similar undiscussed deals, and
    linked indicator rates before/after a competency was coached (see ``caveat``)."""
    view = coaching_effect_for(
        user=request.auth, manager_id=manager_id, weeks=query.weeks, follow_days=query.follow
    )
    d = view.deals
    return {
        "manager": _person(view.manager),
        "weeks": view.weeks,
        "follow_days": d.follow_days,
        "caveat": CAVEAT,
        "discussed": _arm(d.discussed),
        "similar": _arm(d.similar),
        "strata": d.strata,
        "unmatched": d.unmatched,
        "censored": d.censored,
        "competencies": [
            {
                "rep": {"id": c.rep_id, "name": view.rep_names.get(c.rep_id, str(c.rep_id))},
                "competency": c.competency,
                "coached_on": c.coached_on,
                "indicators": list(c.indicators),
                "before_rate": c.before_rate,
                "after_rate": c.after_rate,
                "before_deals": c.before_deals,
                "after_deals": c.after_deals,
                "team_before_rate": c.team_before_rate,
                "team_after_rate": c.team_after_rate,
            }
            for c in view.competencies
        ],
    }


def _arm(arm) -> dict:  # type: ignore[no-untyped-def]
    return {
        "exposures": arm.exposures,
        "deals": arm.deals,
        "criteria_met": arm.criteria_met,
        "with_any": arm.with_any,
        "per_deal": arm.per_deal,
        "share_with_any": arm.share_with_any,
    }


class SlippedOut(Schema):
    opportunity_id: int
    name: str
    owner: PersonOut
    reasons: list[str]


class DueOut(Schema):
    rep: PersonOut
    last_session: date | None
    every_weeks: int
    has_cadence: bool


class OverdueOut(Schema):
    id: int
    title: str
    owner: PersonOut
    due_date: date
    opportunity_id: int | None


class DigestOut(Schema):
    manager: PersonOut
    week_start: date
    slipped: list[SlippedOut]
    due: list[DueOut]
    overdue: list[OverdueOut]


class DigestQuery(Schema):
    manager: int | None = None
    week: date | None = None


@router.get("/coaching/digest", response={200: DigestOut, 404: ErrorOut})
def digest(request: HttpRequest, query: Query[DigestQuery]):
    """Your weekly digest (a manager), or that of a manager you may see (``manager``)."""
    managers = {m.id: m for m in visible_managers(request.auth)}
    manager = managers.get(query.manager if query.manager is not None else request.auth.id)
    if manager is None:
        raise NotFound("manager not found")
    d = digest_for(viewer=request.auth, manager=manager, week=query.week or timezone.localdate())
    return {
        "manager": _person(manager),
        "week_start": d.week_start,
        "slipped": [
            {
                "opportunity_id": s.opportunity.id,
                "name": s.opportunity.name,
                "owner": _person(s.opportunity.owner),
                "reasons": s.reasons,
            }
            for s in d.slipped
        ],
        "due": [
            {
                "rep": _person(r.rep),
                "last_session": timezone.localdate(r.last_session) if r.last_session else None,
                "every_weeks": r.every_weeks,
                "has_cadence": r.has_cadence,
            }
            for r in d.due
        ],
        "overdue": [
            {
                "id": a.id,
                "title": a.title,
                "owner": _person(a.owner),
                "due_date": a.due_date,
                "opportunity_id": a.opportunity_id,
            }
            for a in d.overdue
        ],
    }
