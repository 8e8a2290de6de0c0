"""Leader endpoints of the REST API: the coaching routine per manager, its observational
effect, and a manager's weekly digest. Same reads and privacy rule as the pages: nothing
visible (a rep, a sales-ops admin by role alone, a manager outside your line) is a 404.

Operation ids are pinned to the ones these endpoints had before the coaching app was split
into sub-packages (ninja derives them from the module), so generated clients keep working.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router

from milepost.coaching.leaders import schemas as s
from milepost.coaching.leaders.digest import digest_for
from milepost.coaching.leaders.selectors import (
    coaching_effect_for,
    leader_overview,
    visible_managers,
)
from milepost.core.errors import NotFound
from milepost.core.schemas import ErrorOut
from milepost.engine.coaching_effect import CAVEAT

router = Router(tags=["coaching"])


def _person(user) -> dict:  # type: ignore[no-untyped-def]
    return {"id": user.id, "name": str(user)}


@router.get(
    "/coaching/leaders",
    response={200: s.OverviewOut, 404: ErrorOut},
    operation_id="milepost_coaching_leaders_api_overview",
)
def overview(request: HttpRequest, query: Query[s.OverviewQuery]):
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


@router.get(
    "/coaching/leaders/{manager_id}/effect",
    response={200: s.EffectOut, 404: ErrorOut},
    operation_id="milepost_coaching_leaders_api_effect",
)
def effect(request: HttpRequest, manager_id: int, query: Query[s.EffectQuery]):
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


@router.get(
    "/coaching/digest",
    response={200: s.DigestOut, 404: ErrorOut},
    operation_id="milepost_coaching_leaders_api_digest",
)
def digest(request: HttpRequest, query: Query[s.DigestQuery]):
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
