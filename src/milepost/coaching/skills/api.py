"""Skills endpoints of the REST API: a rep's ratings and the team heat map.

Handlers parse input, call one service or selector and shape the answer. A rep or manager
hidden by the coaching privacy rule is a 404 like a missing one (global handler for NotFound);
a visible rep someone may not rate is a 403; bad input is a 422 naming the field. The
competency model's endpoints are in :mod:`milepost.coaching.competencies.api`.

Operation ids are pinned to the ones these endpoints had before the coaching app was split
into sub-packages (ninja derives them from the module), so generated clients keep working.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import Router, Status
from ninja.errors import HttpError

from milepost.coaching.competencies.schemas import competency_out
from milepost.coaching.models import SkillRating
from milepost.coaching.skills import schemas as s
from milepost.coaching.skills import selectors
from milepost.coaching.skills.services import rating_add
from milepost.core.schemas import ErrorOut, InvalidOut

router = Router(tags=["coaching"])

READ_ERRORS = {404: ErrorOut}
WRITE_ERRORS = {403: ErrorOut, 404: ErrorOut, 422: InvalidOut}


@router.get(
    "/coaching/reps/{rep_id}/skill-ratings",
    response={200: list[s.RatingOut], **READ_ERRORS},
    operation_id="milepost_coaching_skills_api_list_ratings",
)
def list_ratings(
    request: HttpRequest, rep_id: int, competency: str | None = None
) -> list[SkillRating]:
    """The rep's ratings (manager's and self-assessments), oldest first: the trend."""
    return selectors.rating_list(user=request.auth, rep_id=rep_id, competency=competency)


@router.post(
    "/coaching/reps/{rep_id}/skill-ratings",
    response={201: s.RatingOut, **WRITE_ERRORS},
    operation_id="milepost_coaching_skills_api_add_rating",
)
def add_rating(request: HttpRequest, rep_id: int, payload: s.RatingIn) -> Status:
    """A manager above the rep rates them (observation required); the rep self-assesses."""
    try:
        rating = rating_add(
            user=request.auth,
            rep_id=rep_id,
            competency=payload.competency,
            score=payload.score,
            observation=payload.observation,
            session_id=payload.session_id,
        )
    except PermissionDenied as exc:
        raise HttpError(403, str(exc)) from None
    return Status(201, rating)


@router.get(
    "/coaching/skills/heat-map",
    response={200: s.HeatMapOut, **READ_ERRORS},
    operation_id="milepost_coaching_skills_api_heat_map",
)
def heat_map(request: HttpRequest, manager_id: int | None = None) -> dict[str, Any]:
    """Reps below the manager (default: you) x competencies: latest manager score and count."""
    heat = selectors.team_heat_map(user=request.auth, manager_id=manager_id)
    data = selectors.heat_map_dict(heat)
    data["competencies"] = [competency_out(c) for c in heat.competencies]
    return data
