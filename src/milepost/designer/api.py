"""Designer API: a sales-ops admin's drafts of a process, their diff, and publish.

Every endpoint is for admins only (403 for every other role, token or session, whatever the
draft). The endpoints were served from ``milepost.process.api`` before the designer became its
own app; their paths and OpenAPI operation ids are kept (:func:`_operation_id`), so clients see no
change.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import Router, Schema, Status
from ninja.errors import HttpError

from milepost.core.errors import InvalidChange
from milepost.core.schemas import ConflictOut, ErrorOut, StrictInput, ValidationIssue
from milepost.designer import selectors, services, validation
from milepost.designer.access import require_designer
from milepost.designer.publish import MappingRequired, draft_publish
from milepost.engine.process_schema import ProcessInvalid
from milepost.process.models import ProcessDraft

router = Router(tags=["designer"])


def _operation_id(name: str) -> str:
    """The operation id the endpoint had in ``milepost.process.api`` (kept for clients)."""
    return f"milepost_process_api_{name}"


class ProblemOut(Schema):
    location: str
    message: str
    line: int | None
    stage: int | None
    criterion: int | None
    field: str


class StageOnHoldOut(Schema):
    key: str
    label: str
    open_deals: int


class DraftOut(Schema):
    id: int
    process: str | None
    based_on: int | None
    live_version: int | None
    version: int
    published_as: int | None
    document: dict[str, Any]
    problems: list[ProblemOut]


class DraftPutIn(StrictInput):
    version: int
    document: dict[str, Any]


class DiffOut(Schema):
    live_version: int | None
    changes: list[str]
    problems: list[ProblemOut]
    mapping_needed: list[StageOnHoldOut]


class PublishIn(StrictInput):
    version: int
    mapping: dict[str, str] = {}


class PublishOut(Schema):
    version: int
    previous_version: int | None
    moved: int
    moves: list[dict[str, Any]]


class InvalidDraftOut(Schema):
    detail: str | list[ValidationIssue]
    field: str
    problems: list[ProblemOut] = []
    mapping_needed: list[StageOnHoldOut] = []


DRAFT_ERRORS = {403: ErrorOut, 404: ErrorOut, 409: ConflictOut, 422: InvalidDraftOut}


def _designer(request: HttpRequest) -> Any:
    try:
        require_designer(request.auth)
    except PermissionDenied as exc:
        raise HttpError(403, str(exc)) from None
    return request.auth


def _problems(errors: list[Any], document: Any) -> list[dict[str, Any]]:
    out = []
    for error in errors:
        target = validation.error_target(error, document)
        out.append(
            {
                "location": error.location,
                "message": error.message,
                "line": error.line,
                "stage": target.stage,
                "criterion": target.criterion,
                "field": target.field,
            }
        )
    return out


def _draft_out(draft: ProcessDraft) -> dict[str, Any]:
    live = selectors.live_version(draft)
    return {
        "id": draft.pk,
        "process": draft.process.key if draft.process else None,
        "based_on": draft.based_on.number if draft.based_on else None,
        "live_version": live.number if live else None,
        "version": draft.version,
        "published_as": draft.published_as.number if draft.published_as else None,
        "document": draft.document,
        "problems": _problems(validation.draft_problems(draft.document), draft.document),
    }


@router.get(
    "/process-drafts",
    response={200: list[DraftOut], 403: ErrorOut},
    operation_id=_operation_id("list_drafts"),
)
def list_drafts(request: HttpRequest) -> list[dict[str, Any]]:
    return [_draft_out(d) for d in selectors.draft_list(user=_designer(request))]


@router.post(
    "/processes/{key}/drafts",
    response={201: DraftOut, **DRAFT_ERRORS},
    operation_id=_operation_id("create_draft"),
)
def create_draft(request: HttpRequest, key: str) -> Status:
    """Start a draft from the process's live version."""
    draft = services.draft_start(user=_designer(request), process_key=key)
    return Status(201, _draft_out(selectors.draft_get(user=request.auth, draft_id=draft.pk)))


class NewProcessIn(StrictInput):
    key: str
    name: str


@router.post(
    "/process-drafts",
    response={201: DraftOut, **DRAFT_ERRORS},
    operation_id=_operation_id("create_new_process_draft"),
)
def create_new_process_draft(request: HttpRequest, payload: NewProcessIn) -> Status:
    """Start a draft of a process that does not exist yet (published as its version 1)."""
    draft = services.draft_start_new(user=_designer(request), key=payload.key, name=payload.name)
    return Status(201, _draft_out(selectors.draft_get(user=request.auth, draft_id=draft.pk)))


@router.get(
    "/process-drafts/{draft_id}",
    response={200: DraftOut, **DRAFT_ERRORS},
    operation_id=_operation_id("get_draft"),
)
def get_draft(request: HttpRequest, draft_id: int) -> dict[str, Any]:
    return _draft_out(selectors.draft_get(user=_designer(request), draft_id=draft_id))


@router.put(
    "/process-drafts/{draft_id}",
    response={200: DraftOut, **DRAFT_ERRORS},
    operation_id=_operation_id("put_draft"),
)
def put_draft(request: HttpRequest, draft_id: int, payload: DraftPutIn) -> dict[str, Any]:
    """Replace the whole document (it may be invalid: ``problems`` says what to fix)."""
    user = _designer(request)
    services.draft_replace(
        user=user, draft_id=draft_id, expected_version=payload.version, document=payload.document
    )
    return _draft_out(selectors.draft_get(user=user, draft_id=draft_id))


@router.get(
    "/process-drafts/{draft_id}/diff",
    response={200: DiffOut, **DRAFT_ERRORS},
    operation_id=_operation_id("diff_draft"),
)
def diff_draft(request: HttpRequest, draft_id: int) -> dict[str, Any]:
    """What publishing would change, and which old stages need a mapping (with open deals)."""
    draft = selectors.draft_get(user=_designer(request), draft_id=draft_id)
    live = selectors.live_version(draft)
    try:
        changes = selectors.draft_diff(draft)
        definition = validation.draft_definition(draft.document)
    except ProcessInvalid as exc:
        return {
            "live_version": live.number if live else None,
            "changes": [],
            "problems": _problems(exc.errors, draft.document),
            "mapping_needed": [],
        }
    needed = selectors.stages_needing_mapping(process_id=draft.process_id, new=definition)
    return {
        "live_version": live.number if live else None,
        "changes": changes,
        "problems": [],
        "mapping_needed": [vars(s) for s in needed],
    }


@router.post(
    "/process-drafts/{draft_id}/publish",
    response={200: PublishOut, **DRAFT_ERRORS},
    operation_id=_operation_id("publish_draft"),
)
def publish_draft(request: HttpRequest, draft_id: int, payload: PublishIn) -> Any:
    """Publish: store the new version and move open deals (``mapping``: old key -> new key)."""
    user = _designer(request)
    draft = selectors.draft_get(user=user, draft_id=draft_id)
    try:
        result = draft_publish(
            user=user, draft_id=draft_id, expected_version=payload.version, mapping=payload.mapping
        )
    except ProcessInvalid as exc:
        return Status(
            422,
            {
                "detail": "the draft has problems; fix them before publishing",
                "field": "document",
                "problems": _problems(exc.errors, draft.document),
            },
        )
    except MappingRequired as exc:
        return Status(
            422,
            {
                "detail": str(exc),
                "field": "mapping",
                "mapping_needed": [vars(s) for s in exc.stages],
            },
        )
    except InvalidChange as exc:
        return Status(422, {"detail": str(exc), "field": exc.field})
    return {
        "version": result.version.number,
        "previous_version": result.previous.number if result.previous else None,
        "moved": result.moved,
        "moves": [
            {"from": old, "to": new, "deals": n} for (old, new), n in sorted(result.moves.items())
        ],
    }
