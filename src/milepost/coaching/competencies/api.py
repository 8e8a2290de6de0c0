"""Competency endpoints of the REST API: the competencies in force and the competency model.

Handlers parse input, call one service or selector and shape the answer. A model edit by a
non-admin is a 403; every problem of an invalid model comes back with its line (422); a stale
model version is a 409 with the current version.

Operation ids are pinned to the ones these endpoints had before the coaching app was split
into sub-packages (ninja derives them from the module), so generated clients keep working.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import Router, Status
from ninja.errors import HttpError

from milepost.coaching.competencies import schemas as s
from milepost.coaching.competencies.selectors import competency_model_state, effective_competencies
from milepost.coaching.competencies.services import competency_model_save
from milepost.core.schemas import ConflictOut, ErrorOut
from milepost.engine.process_schema import ProcessInvalid

router = Router(tags=["coaching"])


def _model_out() -> dict[str, Any]:
    state = competency_model_state()
    return {
        "version": state.version,
        "stored": state.stored,
        "checksum": state.checksum,
        "text": state.text,
        "definition": state.definition.canonical(),
        "updated_at": state.updated_at,
        "competencies": [s.competency_out(c) for c in effective_competencies(state.definition)],
    }


@router.get(
    "/coaching/competencies",
    response=list[s.CompetencyOut],
    operation_id="milepost_coaching_skills_api_list_competencies",
)
def list_competencies(request: HttpRequest) -> list[dict[str, Any]]:
    """Competencies managers rate on: the model's plus the skills of methodologies in use."""
    return [s.competency_out(c) for c in effective_competencies()]


@router.get(
    "/coaching/competency-model",
    response=s.CompetencyModelOut,
    operation_id="milepost_coaching_skills_api_get_competency_model",
)
def get_competency_model(request: HttpRequest) -> dict[str, Any]:
    """The competency model in force (YAML text, parsed definition, version to edit from)."""
    return _model_out()


@router.put(
    "/coaching/competency-model",
    response={200: s.CompetencyModelOut, 403: ErrorOut, 409: ConflictOut, 422: s.InvalidModelOut},
    operation_id="milepost_coaching_skills_api_put_competency_model",
)
def put_competency_model(request: HttpRequest, payload: s.CompetencyModelIn) -> Any:
    """Replace the model (sales-ops admins). Every problem comes back with its line; nothing
    is saved when there is one."""
    try:
        competency_model_save(
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
