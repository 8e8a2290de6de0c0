"""Evidence endpoints of the REST API (the deal's criteria are inspection's: see
:mod:`milepost.inspection.api`).

Handlers parse input, call one service or selector and shape the answer; the services check who
may see, record, verify or reject (a hidden deal is a 404 like a missing one) and the global
handlers in :mod:`milepost.core.api_errors` map NotFound / VersionConflict / InvalidChange.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpRequest
from ninja import File, Form, Router, Status
from ninja.files import UploadedFile

from milepost.core.schemas import ERRORS, WRITE_ERRORS, ErrorOut
from milepost.evidence import schemas as s
from milepost.evidence.selectors import (
    acceptance_rules,
    artefact_file_response,
    claims_awaiting,
    evidence_for_opportunity,
    evidence_history,
)
from milepost.evidence.services import (
    acceptance_rule_set,
    evidence_accept,
    evidence_record,
    evidence_reject,
    evidence_reject_claim,
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
    Recorded by someone other than the owner it counts as manager-verified. ``buyer_confirmed``
    claims buyer confirmation: it needs an artefact (a pasted e-mail or meeting notes here; a
    file through ``…/upload``) and counts as buyer-confirmed only once a manager or an admin's
    rule accepts it."""
    return _record(request, opportunity_id, criterion_key, payload, None)


def _record(request, opportunity_id, criterion_key, payload, upload):  # type: ignore[no-untyped-def]
    evidence = evidence_record(
        user=request.auth,
        opportunity_id=opportunity_id,
        criterion_key=criterion_key,
        note=payload.note,
        link=payload.link,
        evidence_date=payload.evidence_date,
        buyer_confirmed=payload.buyer_confirmed,
        confirmed_by_id=payload.confirmed_by,
        artefact_kind=payload.artefact_kind,
        artefact_text=payload.artefact_text,
        artefact_file=upload,
        expected_version=payload.version,
    )
    return Status(201 if payload.version is None else 200, evidence)


@router.post(
    f"{EVIDENCE_PATH}/upload", response={200: s.EvidenceOut, 201: s.EvidenceOut, **WRITE_ERRORS}
)
def upload_evidence(
    request: HttpRequest,
    opportunity_id: int,
    criterion_key: str,
    payload: Form[s.EvidenceIn],
    file: File[UploadedFile],
):
    """Record or replace evidence with a file (multipart): the buyer's e-mail as ``.eml``
    (``artefact_kind=email``) or a signed PDF, PNG or JPEG (``document``), at most 2 MB.
    Same fields and answers as ``PUT``."""
    return _record(request, opportunity_id, criterion_key, payload, file)


@router.post(f"{EVIDENCE_PATH}/accept", response={200: s.EvidenceOut, **WRITE_ERRORS})
def accept_evidence(
    request: HttpRequest, opportunity_id: int, criterion_key: str, payload: s.ReviewIn
):
    """A manager of the owner (or an admin) accepts the artefact behind a buyer-confirmation
    claim: the evidence becomes buyer-confirmed."""
    return evidence_accept(
        user=request.auth,
        opportunity_id=opportunity_id,
        criterion_key=criterion_key,
        expected_version=payload.version,
    )


@router.post(f"{EVIDENCE_PATH}/reject-claim", response={200: s.EvidenceOut, **WRITE_ERRORS})
def reject_claim(
    request: HttpRequest, opportunity_id: int, criterion_key: str, payload: s.RejectIn
):
    """Reject the buyer-confirmation claim with a reason; the evidence stays at the rep's
    level."""
    return evidence_reject_claim(
        user=request.auth,
        opportunity_id=opportunity_id,
        criterion_key=criterion_key,
        reason=payload.reason,
        expected_version=payload.version,
    )


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


@router.get("/evidence/claims", response={200: list[s.ClaimOut], **ERRORS})
def list_claims(request: HttpRequest):
    """Buyer-confirmation claims awaiting review on the deals of the people you manage (your
    own deals' claims are someone else's to review), oldest first."""
    return [
        {
            "opportunity_id": e.opportunity_id,
            "opportunity_name": e.opportunity.name,
            "owner_id": e.opportunity.owner_id,
            "owner_name": str(e.opportunity.owner),
            "evidence": e,
        }
        for e in claims_awaiting(user=request.auth)
    ]


@router.get("/evidence/artefacts/{artefact_id}/file", response={200: None, **ERRORS})
def download_artefact(request: HttpRequest, artefact_id: int) -> FileResponse:
    """The attached file, for someone who may see its deal (404 otherwise)."""
    return artefact_file_response(user=request.auth, artefact_id=artefact_id)


@router.get("/evidence/rules", response={200: list[s.AcceptanceRuleOut], 403: ErrorOut})
def list_rules(request: HttpRequest):
    """The rules that accept artefacts without a manager (sales-ops admins)."""
    try:
        return acceptance_rules(user=request.auth)
    except PermissionDenied as exc:
        return Status(403, {"detail": str(exc)})


@router.put(
    "/evidence/rules/{kind}",
    response={200: s.AcceptanceRuleOut, 403: ErrorOut, **WRITE_ERRORS},
)
def put_rule(request: HttpRequest, kind: str, payload: s.AcceptanceRuleIn):
    """Turn a rule on or off (sales-ops admins); applies to artefacts attached from then on."""
    try:
        rule = acceptance_rule_set(
            user=request.auth, kind=kind, enabled=payload.enabled, expected_version=payload.version
        )
    except PermissionDenied as exc:
        return Status(403, {"detail": str(exc)})
    return next(r for r in acceptance_rules(user=request.auth) if r["kind"] == rule.kind)
