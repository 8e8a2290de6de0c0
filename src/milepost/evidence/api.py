"""Evidence endpoints of the REST API (the deal's criteria are inspection's: see
:mod:`milepost.inspection.api`).

Handlers parse input, call one service or selector and shape the answer; the services check who
may see, record, verify or reject (a hidden deal is a 404 like a missing one) and the global
handlers in :mod:`milepost.core.api_errors` map NotFound / VersionConflict / InvalidChange.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Status

from milepost.core.schemas import ERRORS, WRITE_ERRORS
from milepost.evidence import schemas as s
from milepost.evidence.selectors import evidence_for_opportunity, evidence_history
from milepost.evidence.services import (
    evidence_record,
    evidence_reject,
    evidence_verify,
    evidence_withdraw,
)

router = Router(tags=["evidence"])

EVIDENCE_PATH = "/opportunities/{opportunity_id}/evidence/{criterion_key}"


@router.get(
    "/opportunities/{opportunity_id}/evidence", response={200: list[s.EvidenceOut], **ERRORS}
)
def list_evidence(request: HttpRequest, opportunity_id: int):
    """The current evidence of the deal, one row per criterion that has any (any state)."""
    rows = evidence_for_opportunity(user=request.auth, opportunity_id=opportunity_id)
    return sorted(rows.values(), key=lambda e: (e.criterion_key, e.pk))


@router.put(EVIDENCE_PATH, response={200: s.EvidenceOut, 201: s.EvidenceOut, **WRITE_ERRORS})
def put_evidence(
    request: HttpRequest, opportunity_id: int, criterion_key: str, payload: s.EvidenceIn
):
    """Record the evidence for a criterion (201) or replace it (200, needs ``version``).
    Recorded by someone other than the owner it counts as manager-verified."""
    evidence = evidence_record(
        user=request.auth,
        opportunity_id=opportunity_id,
        criterion_key=criterion_key,
        note=payload.note,
        link=payload.link,
        evidence_date=payload.evidence_date,
        buyer_confirmed=payload.buyer_confirmed,
        confirmed_by_id=payload.confirmed_by,
        expected_version=payload.version,
    )
    return Status(201 if payload.version is None else 200, evidence)


@router.post(f"{EVIDENCE_PATH}/verify", response={200: s.EvidenceOut, **WRITE_ERRORS})
def verify_evidence(
    request: HttpRequest, opportunity_id: int, criterion_key: str, payload: s.ReviewIn
):
    """A manager (anyone who may see the deal but does not own it) confirms the evidence."""
    return evidence_verify(
        user=request.auth,
        opportunity_id=opportunity_id,
        criterion_key=criterion_key,
        expected_version=payload.version,
    )


@router.post(f"{EVIDENCE_PATH}/reject", response={200: s.EvidenceOut, **WRITE_ERRORS})
def reject_evidence(
    request: HttpRequest, opportunity_id: int, criterion_key: str, payload: s.RejectIn
):
    """Reject the evidence with a reason; the criterion is unmet until evidence is re-recorded."""
    return evidence_reject(
        user=request.auth,
        opportunity_id=opportunity_id,
        criterion_key=criterion_key,
        reason=payload.reason,
        expected_version=payload.version,
    )


@router.post(f"{EVIDENCE_PATH}/withdraw", response={200: s.EvidenceOut, **WRITE_ERRORS})
def withdraw_evidence(
    request: HttpRequest, opportunity_id: int, criterion_key: str, payload: s.ReviewIn
):
    """Take the evidence back; the criterion then counts as having none."""
    return evidence_withdraw(
        user=request.auth,
        opportunity_id=opportunity_id,
        criterion_key=criterion_key,
        expected_version=payload.version,
    )


@router.get(f"{EVIDENCE_PATH}/history", response={200: list[s.EvidenceEventOut], **ERRORS})
def get_history(request: HttpRequest, opportunity_id: int, criterion_key: str):
    """Every change to the criterion's evidence, oldest first."""
    return list(
        evidence_history(
            user=request.auth, opportunity_id=opportunity_id, criterion_key=criterion_key
        )
    )
