"""Request and response shapes of the evidence and criteria API (``/api/v1/``).

Inputs forbid unknown fields (:class:`~milepost.pipeline.schemas.StrictInput`); writes on
existing evidence carry the ``version`` the client read, and a stale one is a 409.
"""

from __future__ import annotations

from datetime import date, datetime

from ninja import Field, Schema

from milepost.core.schemas import StrictInput


class EvidenceOut(Schema):
    id: int
    opportunity_id: int
    criterion_key: str
    state: str = Field(..., description="active, rejected or withdrawn")
    level: str = Field(..., description="rep (rep-asserted), manager (verified) or buyer")
    note: str
    link: str
    evidence_date: date | None
    confirmed_by_id: int | None = Field(None, description="The buyer contact who confirmed it")
    confirmed_by_name: str | None = None
    recorded_by_id: int | None
    recorded_at: datetime
    verified_by_id: int | None
    verified_at: datetime | None
    rejected_by_id: int | None
    rejected_at: datetime | None
    rejection_reason: str
    updated_at: datetime
    version: int

    @staticmethod
    def resolve_confirmed_by_name(obj) -> str | None:  # type: ignore[no-untyped-def]
        return obj.confirmed_by.full_name if obj.confirmed_by_id else None


class EvidenceEventOut(Schema):
    id: int
    criterion_key: str
    action: str = Field(..., description="recorded, updated, verified, rejected or withdrawn")
    actor_id: int | None
    at: datetime
    state: str
    level: str
    note: str
    link: str
    evidence_date: date | None
    confirmed_by_id: int | None
    reason: str


class EvidenceIn(StrictInput):
    note: str = Field(..., max_length=4000, description="What the evidence is (3+ characters)")
    link: str = Field("", max_length=500, description="An http(s) link to it, if any")
    evidence_date: date | None = Field(None, description="When it happened; not in the future")
    buyer_confirmed: bool = Field(False, description="The buyer confirmed it (names the contact)")
    confirmed_by: int | None = Field(None, description="Id of a contact of the deal's account")
    version: int | None = Field(
        None, description="Current version when replacing evidence; omit for the first record"
    )


class ReviewIn(StrictInput):
    version: int = Field(..., description="The evidence version you read; stale → 409")


class RejectIn(ReviewIn):
    reason: str = Field(..., max_length=500, description="Why (the rep sees it)")


class RuleOut(Schema):
    status: str
    reason: str


class DealCriterionOut(Schema):
    key: str
    statement: str
    verifier: str = Field(..., description="The evidence level needed: rep, manager or buyer")
    needs_evidence: bool
    status: str = Field(..., description="met, unmet or unknown (rule and evidence combined)")
    reason: str
    rule: RuleOut | None = Field(None, description="The rule's own result; null: no rule")
    evidence: EvidenceOut | None = None


class DealStageCriteriaOut(Schema):
    key: str
    label: str
    position: int
    all_met: bool
    criteria: list[DealCriterionOut]


class DealSignalOut(Schema):
    signal: str
    label: str
    weight: int
    reason: str


class CriteriaOut(Schema):
    opportunity_id: int
    claimed_stage: str
    claimed_kind: str
    verified_stage: str
    under_control: bool
    first_gap: str | None = Field(None, description="Key of the first stage with a gap")
    risk: int = Field(..., description="Sum of the signal weights (0 for closed deals)")
    signals: list[DealSignalOut]
    next_actions: list[str]
    stages: list[DealStageCriteriaOut]
