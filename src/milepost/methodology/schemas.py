"""Request and response shapes of the methodology API (``/api/v1/``).

Inputs forbid unknown fields; writes on an existing assessment or influence carry the
``version`` the client read, and a stale one is a 409.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema

from milepost.core.schemas import StrictInput


class PackSummaryOut(Schema):
    key: str
    name: str
    summary: str
    elements: list[str]
    has_buying_influences: bool


class PackOut(Schema):
    key: str
    name: str
    definition: dict[str, Any] = Field(..., description="The validated pack document")


class AssessmentOut(Schema):
    id: int
    opportunity_id: int
    pack: str
    element: str
    level: str = Field(..., description="The level scored")
    verified_level: str = Field(
        ...,
        description=(
            "The level that counts for exit criteria: below ``level`` while a rep's score above "
            "what a rep may set awaits a manager's verification"
        ),
    )
    awaiting_verification: bool
    verified_by_id: int | None
    verified_at: datetime | None
    notes: str
    answers: dict[str, Any]
    contact_ids: list[int]
    updated_by_id: int | None
    updated_at: datetime
    version: int

    @staticmethod
    def resolve_contact_ids(obj) -> list[int]:  # type: ignore[no-untyped-def]
        return sorted(c.pk for c in obj.contacts.all())


class AssessmentIn(StrictInput):
    level: str = Field(..., max_length=32, description="A level key of the element's scale")
    notes: str = Field("", max_length=4000)
    answers: dict[str, Any] = Field(default_factory=dict, description="Field key -> value")
    contacts: list[int] = Field(default_factory=list, description="Contacts of the deal's account")
    version: int | None = Field(
        None, description="The version you read when updating; omit for the first score"
    )


class AssessmentEventOut(Schema):
    id: int
    pack: str
    element: str
    level: str
    verified_level: str = Field(..., description="The level that counted after the change")
    verified: bool = Field(..., description="A manager's verification, not a new score")
    previous_level: str
    notes: str
    answers: dict[str, Any]
    contact_ids: list[int]
    actor_id: int | None
    at: datetime


class PanelElementOut(Schema):
    pack: str
    element: str
    label: str
    requirement: str = Field(..., description="required, recommended or carried")
    carried_from: str = ""
    level: str
    level_label: str
    at_top: bool
    suggested_contact_ids: list[int]
    assessment: AssessmentOut | None = None


class QuestionOut(Schema):
    pack: str
    element: str
    requirement: str
    text: str


class PanelPackOut(Schema):
    pack: str
    name: str
    purpose: str
    has_buying_influences: bool
    elements: list[PanelElementOut]
    carried_gaps: list[PanelElementOut]


class PanelOut(Schema):
    opportunity_id: int
    stage: str
    packs: list[PanelPackOut]
    questions: list[QuestionOut]
    assessments: list[AssessmentOut] = Field(..., description="Every scored element of the deal")


class InfluenceOut(Schema):
    id: int
    opportunity_id: int
    pack: str
    contact_id: int
    role: str
    degree: str
    response_mode: str
    rating: int
    win_results: str
    notes: str
    updated_by_id: int | None
    updated_at: datetime
    version: int


class InfluenceIn(StrictInput):
    pack: str = Field(..., max_length=64, description="A pack with buying influences")
    contact: int
    role: str = Field(..., max_length=32)
    degree: str = Field(..., max_length=32)
    response_mode: str = Field(..., max_length=32)
    rating: int = 0
    win_results: str = Field("", max_length=4000)
    notes: str = Field("", max_length=4000)


class InfluenceUpdateIn(InfluenceIn):
    version: int = Field(..., description="The version you read; stale → 409")


class InfluenceEventOut(Schema):
    id: int
    action: str = Field(..., description="added, updated or removed")
    contact_id: int | None
    role: str
    degree: str
    response_mode: str
    rating: int | None
    win_results: str
    notes: str
    actor_id: int | None
    at: datetime


class AssessmentVerifyIn(StrictInput):
    version: int = Field(..., ge=1, description="The assessment version you read; stale → 409")
