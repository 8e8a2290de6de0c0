"""Read-only API for sales processes: the list, and the full definition of a version.

Every authenticated user may read every process (as on the web pages). Loading a process is a
command-line operation (``milepost process load``), so there are no write endpoints here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import Http404, HttpRequest
from ninja import Router, Schema

from milepost.engine.process_schema import ProcessDef
from milepost.engine.rule_text import rule_text
from milepost.process.models import ProcessVersion
from milepost.process.selectors import process_overview, process_version

router = Router(tags=["processes"])


class ProcessSummaryOut(Schema):
    key: str
    name: str
    description: str
    current_version: int | None
    checksum: str | None
    stage_count: int | None
    loaded_at: datetime | None
    versions: list[int]


class ExitCriterionOut(Schema):
    id: str
    statement: str
    verifier: str
    rule: dict[str, Any] | None
    rule_text: str | None
    guidance: str


class StageOut(Schema):
    key: str
    label: str
    position: int
    kind: str
    buyer_phase: str
    buyer_goal: str
    probability: int
    forecast_category: str
    expected_days: int | None
    max_days: int | None
    exit_criteria: list[ExitCriterionOut]
    suggested_actions: list[str]


class ProcessVersionOut(Schema):
    key: str
    name: str
    description: str
    currency: str
    gate_policy: str
    version: int
    is_current: bool
    checksum: str
    loaded_at: datetime
    source_name: str
    stages: list[StageOut]


@router.get("/processes", response=list[ProcessSummaryOut], summary="List sales processes")
def list_processes(request: HttpRequest) -> list[ProcessSummaryOut]:
    out = []
    for process in process_overview():
        current = next((v for v in process.all_versions if v.is_current), None)
        out.append(
            ProcessSummaryOut(
                key=process.key,
                name=process.name,
                description=process.description,
                current_version=current.number if current else None,
                checksum=current.checksum if current else None,
                stage_count=current.stage_count if current else None,
                loaded_at=current.loaded_at if current else None,
                versions=sorted(v.number for v in process.all_versions),
            )
        )
    return out


@router.get("/processes/{key}", response=ProcessVersionOut, summary="Current version of a process")
def get_process(request: HttpRequest, key: str) -> ProcessVersionOut:
    return _version_out(process_version(process_key=key))


@router.get(
    "/processes/{key}/versions/{number}",
    response=ProcessVersionOut,
    summary="One version of a process",
)
def get_process_version(request: HttpRequest, key: str, number: int) -> ProcessVersionOut:
    return _version_out(process_version(process_key=key, number=number))


def _version_out(version: ProcessVersion | None) -> ProcessVersionOut:
    if version is None:
        raise Http404("no such process version")
    # The stored definition is the validated document (the stage rows are derived from it).
    definition = ProcessDef.model_validate(version.definition)
    stages = []
    for position, stage in enumerate(definition.stages):
        criteria = []
        for c in stage.exit_criteria:
            rule = (
                c.rule.model_dump(mode="json", by_alias=True, exclude_none=True) if c.rule else None
            )
            criteria.append(
                ExitCriterionOut(
                    id=c.id,
                    statement=c.statement,
                    verifier=c.verifier,
                    rule=rule,
                    rule_text=rule_text(rule) if rule else None,
                    guidance=c.guidance,
                )
            )
        stages.append(
            StageOut(
                key=stage.key,
                label=stage.label,
                position=position,
                kind=stage.kind,
                buyer_phase=stage.buyer_phase,
                buyer_goal=stage.buyer_goal,
                probability=stage.probability,
                forecast_category=stage.forecast_category,
                expected_days=stage.expected_days,
                max_days=stage.max_days,
                exit_criteria=criteria,
                suggested_actions=list(stage.suggested_actions),
            )
        )
    return ProcessVersionOut(
        key=definition.key,
        name=definition.name,
        description=definition.description,
        currency=definition.currency,
        gate_policy=definition.gate_policy,
        version=version.number,
        is_current=version.is_current,
        checksum=version.checksum,
        loaded_at=version.loaded_at,
        source_name=version.source_name,
        stages=stages,
    )


# --- Export (everyone signed in) and the designer's drafts (sales-ops admins only) ---------
# Appended as a block so the read endpoints above stay as they were.

from django.core.exceptions import PermissionDenied  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from ninja import Status  # noqa: E402
from ninja.errors import HttpError  # noqa: E402
from pydantic import ConfigDict  # noqa: E402

from milepost.core.errors import InvalidChange  # noqa: E402
from milepost.core.schemas import ConflictOut, ErrorOut  # noqa: E402
from milepost.engine.process_export import export_process  # noqa: E402
from milepost.engine.process_schema import ProcessInvalid  # noqa: E402
from milepost.process import designer  # noqa: E402
from milepost.process.migration import (  # noqa: E402
    MappingRequired,
    draft_publish,
    stages_needing_mapping,
)
from milepost.process.models import ProcessDraft  # noqa: E402

YAML_TYPE = "application/yaml; charset=utf-8"


def export_response(version: ProcessVersion, *, attachment: bool = True) -> HttpResponse:
    """The version as canonical YAML, named ``<key>-v<n>.yaml`` (shared with the page)."""
    text = export_process(ProcessDef.model_validate(version.definition))
    response = HttpResponse(text, content_type=YAML_TYPE)
    name = f"{version.process.key}-v{version.number}.yaml"
    disposition = "attachment" if attachment else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{name}"'
    return response


@router.get(
    "/processes/{key}/versions/{number}/export.yaml",
    summary="One version of a process as YAML",
    response={200: None, 404: ErrorOut},
)
def export_version(request: HttpRequest, key: str, number: int) -> HttpResponse:
    """Canonical YAML of the version: loading it gives the same definition (same checksum)."""
    version = process_version(process_key=key, number=number)
    if version is None:
        raise Http404("no such process version")
    return export_response(version)


class StrictIn(Schema):
    model_config = ConfigDict(extra="forbid")


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


class DraftPutIn(StrictIn):
    version: int
    document: dict[str, Any]


class DiffOut(Schema):
    live_version: int | None
    changes: list[str]
    problems: list[ProblemOut]
    mapping_needed: list[StageOnHoldOut]


class PublishIn(StrictIn):
    version: int
    mapping: dict[str, str] = {}


class PublishOut(Schema):
    version: int
    previous_version: int | None
    moved: int
    moves: list[dict[str, Any]]


class InvalidDraftOut(Schema):
    detail: str
    field: str
    problems: list[ProblemOut] = []
    mapping_needed: list[StageOnHoldOut] = []


DRAFT_ERRORS = {403: ErrorOut, 404: ErrorOut, 409: ConflictOut, 422: InvalidDraftOut}


def _designer(request: HttpRequest) -> Any:
    try:
        designer.require_designer(request.auth)
    except PermissionDenied as exc:
        raise HttpError(403, str(exc)) from None
    return request.auth


def _problems(errors: list[Any], document: Any) -> list[dict[str, Any]]:
    out = []
    for error in errors:
        target = designer.error_target(error, document)
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
    live = designer.live_version(draft)
    return {
        "id": draft.pk,
        "process": draft.process.key if draft.process else None,
        "based_on": draft.based_on.number if draft.based_on else None,
        "live_version": live.number if live else None,
        "version": draft.version,
        "published_as": draft.published_as.number if draft.published_as else None,
        "document": draft.document,
        "problems": _problems(designer.draft_problems(draft.document), draft.document),
    }


@router.get("/process-drafts", response={200: list[DraftOut], 403: ErrorOut}, tags=["designer"])
def list_drafts(request: HttpRequest) -> list[dict[str, Any]]:
    return [_draft_out(d) for d in designer.draft_list(user=_designer(request))]


@router.post("/processes/{key}/drafts", response={201: DraftOut, **DRAFT_ERRORS}, tags=["designer"])
def create_draft(request: HttpRequest, key: str) -> Status:
    """Start a draft from the process's live version."""
    draft = designer.draft_start(user=_designer(request), process_key=key)
    return Status(201, _draft_out(designer.draft_get(user=request.auth, draft_id=draft.pk)))


class NewProcessIn(StrictIn):
    key: str
    name: str


@router.post("/process-drafts", response={201: DraftOut, **DRAFT_ERRORS}, tags=["designer"])
def create_new_process_draft(request: HttpRequest, payload: NewProcessIn) -> Status:
    """Start a draft of a process that does not exist yet (published as its version 1)."""
    draft = designer.draft_start_new(user=_designer(request), key=payload.key, name=payload.name)
    return Status(201, _draft_out(designer.draft_get(user=request.auth, draft_id=draft.pk)))


@router.get(
    "/process-drafts/{draft_id}", response={200: DraftOut, **DRAFT_ERRORS}, tags=["designer"]
)
def get_draft(request: HttpRequest, draft_id: int) -> dict[str, Any]:
    return _draft_out(designer.draft_get(user=_designer(request), draft_id=draft_id))


@router.put(
    "/process-drafts/{draft_id}", response={200: DraftOut, **DRAFT_ERRORS}, tags=["designer"]
)
def put_draft(request: HttpRequest, draft_id: int, payload: DraftPutIn) -> dict[str, Any]:
    """Replace the whole document (it may be invalid: ``problems`` says what to fix)."""
    user = _designer(request)
    designer.draft_replace(
        user=user, draft_id=draft_id, expected_version=payload.version, document=payload.document
    )
    return _draft_out(designer.draft_get(user=user, draft_id=draft_id))


@router.get(
    "/process-drafts/{draft_id}/diff", response={200: DiffOut, **DRAFT_ERRORS}, tags=["designer"]
)
def diff_draft(request: HttpRequest, draft_id: int) -> dict[str, Any]:
    """What publishing would change, and which old stages need a mapping (with open deals)."""
    draft = designer.draft_get(user=_designer(request), draft_id=draft_id)
    live = designer.live_version(draft)
    try:
        changes = designer.draft_diff(draft)
        definition = designer.draft_definition(draft.document)
    except ProcessInvalid as exc:
        return {
            "live_version": live.number if live else None,
            "changes": [],
            "problems": _problems(exc.errors, draft.document),
            "mapping_needed": [],
        }
    needed = stages_needing_mapping(process_id=draft.process_id, new=definition)
    return {
        "live_version": live.number if live else None,
        "changes": changes,
        "problems": [],
        "mapping_needed": [vars(s) for s in needed],
    }


@router.post(
    "/process-drafts/{draft_id}/publish",
    response={200: PublishOut, **DRAFT_ERRORS},
    tags=["designer"],
)
def publish_draft(request: HttpRequest, draft_id: int, payload: PublishIn) -> Any:
    """Publish: store the new version and move open deals (``mapping``: old key -> new key)."""
    user = _designer(request)
    draft = designer.draft_get(user=user, draft_id=draft_id)
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
