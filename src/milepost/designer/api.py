"""Designer API: a sales-ops admin's drafts of a process, their diff, and publish.

Every endpoint is for admins only (403 for every other role, token or session, whatever the
draft). The endpoints were served from ``milepost.process.api`` before the designer became its
own app; their paths and OpenAPI operation ids are kept (:func:`_operation_id`), so clients see no
change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import Router, Schema, Status
from ninja.errors import HttpError

from milepost.core.errors import InvalidChange
from milepost.core.jobs import JobAlreadyRunning
from milepost.core.schemas import ConflictOut, ErrorOut, InvalidOut, StrictInput, ValidationIssue
from milepost.designer import selectors, services, validation
from milepost.designer.access import require_designer
from milepost.designer.jobs import publish_enqueue, publish_job_get
from milepost.designer.publish import MappingRequired, StaleDraft, publish_check
from milepost.engine.process_merge import MISSING
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


class PublishQueuedOut(Schema):
    job_id: str
    status: str
    status_url: str


class JobOut(Schema):
    id: str
    kind: str
    status: str
    done: int
    total: int | None
    message: str
    result: dict[str, Any] | None
    error: str
    created_at: datetime
    finished_at: datetime | None


class StaleOut(Schema):
    detail: str
    field: str
    based_on: int | None
    live_version: int | None


PUBLISH_ERRORS = {403: ErrorOut, 404: ErrorOut, 409: StaleOut | ConflictOut, 422: InvalidDraftOut}


def _job_url(draft_id: int, job_id: Any) -> str:
    return f"/api/v1/process-drafts/{draft_id}/publish-jobs/{job_id}"


@router.post(
    "/process-drafts/{draft_id}/publish",
    response={202: PublishQueuedOut, **PUBLISH_ERRORS},
    operation_id=_operation_id("publish_draft"),
)
def publish_draft(request: HttpRequest, draft_id: int, payload: PublishIn) -> Any:
    """Queue the publish (``mapping``: old key -> new key); poll ``status_url`` for its end.

    Everything that would refuse the publish is answered now: 422 for problems or a missing
    mapping, 409 for a stale draft (rebase it first), a changed draft, or a publish of this
    draft already queued or running. The job moves the open deals in one transaction.
    """
    user = _designer(request)
    draft = selectors.draft_get(user=user, draft_id=draft_id)
    try:
        publish_check(
            user=user, draft_id=draft_id, expected_version=payload.version, mapping=payload.mapping
        )
        job = publish_enqueue(
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
    except StaleDraft as exc:
        return Status(
            409,
            {
                "detail": str(exc),
                "field": "based_on",
                "based_on": exc.based_on,
                "live_version": exc.live,
            },
        )
    except JobAlreadyRunning as exc:
        return Status(
            409, {"detail": str(exc), "field": "draft", "based_on": None, "live_version": None}
        )
    except InvalidChange as exc:
        return Status(422, {"detail": str(exc), "field": exc.field})
    return Status(
        202,
        {"job_id": str(job.pk), "status": job.status, "status_url": _job_url(draft_id, job.pk)},
    )


@router.get(
    "/process-drafts/{draft_id}/publish-jobs/{job_id}",
    response={200: JobOut, 403: ErrorOut, 404: ErrorOut},
    operation_id=_operation_id("publish_job"),
)
def publish_job(request: HttpRequest, draft_id: int, job_id: str) -> Any:
    """A publish job of the draft: queued, running (``done`` of ``total``), succeeded with its
    ``result`` (version, deals moved, under control before and after) or failed (``error``)."""
    job = publish_job_get(user=_designer(request), draft_id=draft_id, job_id=job_id)
    return {
        "id": str(job.pk),
        "kind": job.kind,
        "status": job.status,
        "done": job.done,
        "total": job.total,
        "message": job.message,
        "result": job.result,
        "error": job.error,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
    }


class RebaseIn(StrictInput):
    version: int
    prefer: Literal["ours", "theirs"] | None = None


class ConflictItemOut(Schema):
    where: str
    path: list[str]
    base: Any
    ours: Any
    theirs: Any


class RebaseConflictOut(Schema):
    detail: str
    field: str
    conflicts: list[ConflictItemOut]


@router.post(
    "/process-drafts/{draft_id}/rebase",
    response={
        200: DraftOut,
        403: ErrorOut,
        404: ErrorOut,
        409: RebaseConflictOut | ConflictOut,
        422: InvalidOut,
    },
    operation_id=_operation_id("rebase_draft"),
)
def rebase_draft(request: HttpRequest, draft_id: int, payload: RebaseIn) -> Any:
    """Re-apply a stale draft's changes onto the live version (three-way merge). Conflicts
    answer 409 with base / draft (ours) / live (theirs) per place, unless ``prefer`` settles
    them."""
    user = _designer(request)
    try:
        services.draft_rebase(
            user=user, draft_id=draft_id, expected_version=payload.version, prefer=payload.prefer
        )
    except services.RebaseConflicts as exc:
        return Status(
            409,
            {
                "detail": str(exc),
                "field": exc.field,
                "conflicts": [
                    {
                        "where": c.where,
                        "path": list(c.path),
                        "base": _absent(c.base),
                        "ours": _absent(c.ours),
                        "theirs": _absent(c.theirs),
                    }
                    for c in exc.conflicts
                ],
            },
        )
    return _draft_out(selectors.draft_get(user=user, draft_id=draft_id))


def _absent(value: Any) -> Any:
    return None if value is MISSING else value
