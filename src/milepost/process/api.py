"""Read-only API for sales processes: the list, the full definition of a version, its YAML.

Every authenticated user may read every process (as on the web pages). There are no write
endpoints here: processes are loaded with ``milepost process load`` or published from the
process designer, whose draft endpoints are :mod:`milepost.designer.api`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import Router, Schema

from milepost.core.schemas import ErrorOut
from milepost.engine.process_schema import ProcessDef
from milepost.engine.rule_text import rule_text
from milepost.process.export import export_response
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
