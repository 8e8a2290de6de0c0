"""Skills endpoints of the REST API: competencies, the competency model, ratings, heat map.

Handlers parse input, call one service or selector and shape the answer. A rep or manager
hidden by the coaching privacy rule is a 404 like a missing one (global handler for NotFound);
a visible rep someone may not rate, or a model edit by a non-admin, is a 403; bad input is a
422 naming the field; a stale model version is a 409 with the current version.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import Router, Schema, Status
from ninja.errors import HttpError
from pydantic import ConfigDict, Field

from milepost.coaching import competency_services as models_svc
from milepost.coaching import skills
from milepost.coaching.models import SkillRating
from milepost.core.schemas import ConflictOut, ErrorOut
from milepost.engine.process_schema import ProcessInvalid

router = Router(tags=["coaching"])

READ_ERRORS = {404: ErrorOut}
WRITE_ERRORS = {403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


class CompetencyOut(Schema):
    key: str
    label: str
    description: str
    source: str


class ProblemOut(Schema):
    location: str
    message: str
    line: int | None


class CompetencyModelOut(Schema):
    version: int
    stored: bool
    checksum: str
    text: str
    definition: dict[str, Any]
    updated_at: datetime | None
    competencies: list[CompetencyOut]


class CompetencyModelIn(Schema):
    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=0, description="The version you edited (0: the shipped default)")
    text: str


class InvalidModelOut(Schema):
    detail: str
    field: str
    problems: list[ProblemOut]


class RatingOut(Schema):
    id: int
    rep_id: int
    rater_id: int | None
    competency: str
    score: int
    observation: str
    is_self: bool
    session_id: int | None
    rated_at: datetime


class RatingIn(Schema):
    model_config = ConfigDict(extra="forbid")
    competency: str
    score: int
    observation: str = ""
    session_id: int | None = None


class HeatCellOut(Schema):
    competency: str
    score: int | None
    count: int


class HeatRowOut(Schema):
    rep_id: int
    rep: str
    cells: list[HeatCellOut]


class HeatMapOut(Schema):
    manager_id: int
    competencies: list[CompetencyOut]
    averages: list[float | None]
    rows: list[HeatRowOut]


def _competency(c: Any) -> dict[str, Any]:
    return {"key": c.key, "label": c.label, "description": c.description, "source": c.source}


def _model_out() -> dict[str, Any]:
    state = models_svc.competency_model_state()
    return {
        "version": state.version,
        "stored": state.stored,
        "checksum": state.checksum,
        "text": state.text,
        "definition": state.definition.canonical(),
        "updated_at": state.updated_at,
        "competencies": [
            _competency(c) for c in models_svc.effective_competencies(state.definition)
        ],
    }


@router.get("/coaching/competencies", response=list[CompetencyOut])
def list_competencies(request: HttpRequest) -> list[dict[str, Any]]:
    """Competencies managers rate on: the model's plus the skills of methodologies in use."""
    return [_competency(c) for c in models_svc.effective_competencies()]


@router.get("/coaching/competency-model", response=CompetencyModelOut)
def get_competency_model(request: HttpRequest) -> dict[str, Any]:
    """The competency model in force (YAML text, parsed definition, version to edit from)."""
    return _model_out()


@router.put(
    "/coaching/competency-model",
    response={200: CompetencyModelOut, 403: ErrorOut, 409: ConflictOut, 422: InvalidModelOut},
)
def put_competency_model(request: HttpRequest, payload: CompetencyModelIn) -> Any:
    """Replace the model (sales-ops admins). Every problem comes back with its line; nothing
    is saved when there is one."""
    try:
        models_svc.competency_model_save(
            user=request.auth, text=payload.text, expected_version=payload.version
        )
    except PermissionDenied as exc:
        raise HttpError(403, str(exc)) from None
    except ProcessInvalid as exc:
        problems = [
            {"location": e.location, "message": e.message, "line": e.line} for e in exc.errors
        ]
        return Status(
            422,
            {"detail": "the competency model has problems", "field": "text", "problems": problems},
        )
    return _model_out()


@router.get("/coaching/reps/{rep_id}/skill-ratings", response={200: list[RatingOut], **READ_ERRORS})
def list_ratings(
    request: HttpRequest, rep_id: int, competency: str | None = None
) -> list[SkillRating]:
    """The rep's ratings (manager's and self-assessments), oldest first: the trend."""
    return skills.rating_list(user=request.auth, rep_id=rep_id, competency=competency)


@router.post("/coaching/reps/{rep_id}/skill-ratings", response={201: RatingOut, **WRITE_ERRORS})
def add_rating(request: HttpRequest, rep_id: int, payload: RatingIn) -> Status:
    """A manager above the rep rates them (observation required); the rep self-assesses."""
    try:
        rating = skills.rating_add(
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


@router.get("/coaching/skills/heat-map", response={200: HeatMapOut, **READ_ERRORS})
def heat_map(request: HttpRequest, manager_id: int | None = None) -> dict[str, Any]:
    """Reps below the manager (default: you) x competencies: latest manager score and count."""
    heat = skills.team_heat_map(user=request.auth, manager_id=manager_id)
    data = skills.heat_map_dict(heat)
    data["competencies"] = [_competency(c) for c in heat.competencies]
    return data
