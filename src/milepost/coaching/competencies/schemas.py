"""Request and response shapes of the competency endpoints (``/api/v1/coaching/competenc*``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Schema
from pydantic import ConfigDict, Field

from milepost.core.schemas import ValidationIssue
from milepost.engine.competency_schema import CompetencyDef


class CompetencyOut(Schema):
    key: str
    label: str
    description: str
    source: str


def competency_out(c: CompetencyDef) -> dict[str, Any]:
    """A competency as :class:`CompetencyOut` data (the skills heat map lists them too)."""
    return {"key": c.key, "label": c.label, "description": c.description, "source": c.source}


class CompetencyProblemOut(Schema):
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
    """A 422: a model that does not load lists its ``problems``; a body that fails the schema
    (a missing or non-integer ``version``) has none, like any other 422."""

    detail: str | list[ValidationIssue]
    field: str = ""
    problems: list[CompetencyProblemOut] = Field(default_factory=list)
