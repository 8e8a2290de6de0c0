"""Request and response shapes of the methodology API (``/api/v1/``).

Inputs forbid unknown fields; writes on an existing assessment or influence carry the
``version`` the client read, and a stale one is a 409.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema

from milepost.core.bounded import Text
from milepost.core.schemas import RowId, StrictInput
from milepost.evidence.artefacts import ARTEFACT_TEXT_MAX
from milepost.evidence.validation import ArtefactKindIn


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
    artefact_id: int | None = Field(
        None, description="The buyer's artefact the owner attached to the score, if any"
    )
    accepted_by_rule: str = Field(
        "", description="The admin's rule that accepted the artefact (no manager needed)"
    )
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
    artefact_kind: ArtefactKindIn = Field(
        "",
        description=(
            "The buyer's proof behind a score above what the rep may set: email (the raw "
            "message pasted in artefact_text) or meeting_notes (artefact_text naming the "
            "attendee); a signed document is attached on the deal page. It counts once a "
            "manager verifies the score or an admin's rule accepts the artefact"
        ),
    )
    artefact_text: Text(ARTEFACT_TEXT_MAX) = Field(  # type: ignore[valid-type]
        "", description="The pasted e-mail with its headers, or the meeting notes"
    )
    attendee: RowId | None = Field(
        None, description="Meeting notes: the buyer who attended (a contact of the account)"
    )


class AssessmentEventOut(Schema):
    id: int
    pack: str
    element: str
    level: str
    verified_level: str = Field(..., description="The level that counted after the change")
    verified: bool = Field(..., description="A manager's verification, not a new score")
    previous_level: str
    artefact_id: int | None = Field(None, description="The buyer's artefact behind the score")
    accepted_by_rule: str = Field("", description="The rule that accepted that artefact")
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
