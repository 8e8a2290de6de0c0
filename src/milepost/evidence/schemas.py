"""Request and response shapes of the evidence and criteria API (``/api/v1/``).

Inputs forbid unknown fields (:class:`~milepost.pipeline.schemas.StrictInput`); writes on
existing evidence carry the ``version`` the client read, and a stale one is a 409.
"""

from __future__ import annotations

from datetime import date, datetime

from ninja import Field, Schema

from milepost.evidence.validation import EvidenceFields, RejectFields, ReviewFields, RuleFields


class ArtefactOut(Schema):
    id: int
    kind: str = Field(..., description="email, document or meeting_notes")
    file_name: str
    content_type: str
    size: int
    email_from: str = Field(..., description="The e-mail's sender, as parsed")
    email_date: datetime | None
    email_subject: str
    attendee_id: int | None = Field(None, description="The buyer who attended (meeting notes)")
    uploaded_by_id: int | None
    uploaded_at: datetime
    download: str = Field(..., description="API path of the file (empty: no file)")

    @staticmethod
    def resolve_download(obj) -> str:  # type: ignore[no-untyped-def]
        return f"/api/v1/evidence/artefacts/{obj.pk}/file" if obj.file else ""


class EvidenceOut(Schema):
    id: int
    opportunity_id: int
    criterion_key: str
    state: str = Field(..., description="active, rejected or withdrawn")
    level: str = Field(
        ..., description="The level that counts: rep (rep-asserted), manager (verified) or buyer"
    )
    source: str = Field(..., description="rep_claim, manager, artefact or buyer_action")
    buyer_claim: str = Field(
        ..., description="'' (not claimed), pending, accepted or rejected: buyer confirmation"
    )
    accepted_by_rule: str = Field(..., description="The admin's rule that accepted it, if any")
    artefact: ArtefactOut | None = None
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
    action: str = Field(
        ...,
        description=(
            "recorded, updated, verified, rejected, withdrawn, accepted (buyer confirmation), "
            "claim_rejected or migrated"
        ),
    )
    actor_id: int | None = Field(..., description="null: a rule, a buyer or a migration")
    at: datetime
    state: str
    level: str
    source: str
    buyer_claim: str
    artefact_id: int | None
    note: str
    link: str
    evidence_date: date | None
    confirmed_by_id: int | None
    reason: str


class EvidenceIn(EvidenceFields):
    """Record or replace evidence (JSON). A signed document or an ``.eml`` file is uploaded
    with the multipart ``POST …/upload`` instead."""


class ReviewIn(ReviewFields):
    pass


class RejectIn(RejectFields):
    pass


class AcceptanceRuleIn(RuleFields):
    pass


class AcceptanceRuleOut(Schema):
    kind: str
    label: str
    enabled: bool
    changed_by_id: int | None
    changed_at: datetime | None
    version: int | None


class ClaimOut(Schema):
    """A buyer-confirmation claim awaiting a manager's review."""

    opportunity_id: int
    opportunity_name: str
    owner_id: int
    owner_name: str
    evidence: EvidenceOut


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
    how: list[str] = Field(
        default_factory=list,
        description="How it is met: rule, score (a methodology rule), evidence",
    )
    by: str = Field(
        "",
        description=(
            "By whom: data (a rule on the deal's data), rep, rep_pending (buyer confirmation "
            "claimed, awaiting verification), manager, artefact_manager, artefact_rule, "
            "buyer_action, none"
        ),
    )
    self_assessed: bool = Field(False, description="Only the rep's own word stands behind it")
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
