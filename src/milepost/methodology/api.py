"""Methodology endpoints of the REST API: packs, a deal's element scores and buying influences.

Handlers parse input, call one service or selector and shape the answer. A deal the caller may
not see is a 404 like a missing one; the global handlers in
:mod:`milepost.core.api_errors` map NotFound / VersionConflict (409) / InvalidChange (422).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from milepost.core.errors import NotFound
from milepost.core.schemas import ERRORS, WRITE_ERRORS, ErrorOut
from milepost.methodology import schemas as s
from milepost.methodology.models import BuyingInfluence, ElementAssessment
from milepost.methodology.panel import ElementRow, element_history, methodology_panel
from milepost.methodology.selectors import (
    deal_assessments,
    deal_influence_history,
    deal_influences,
)
from milepost.methodology.services import (
    assessment_record,
    assessment_verify,
    influence_remove,
    influence_save,
)
from milepost.pipeline.selectors import opportunity_get
from milepost.process.selectors import pack_definitions, pack_list

router = Router(tags=["methodology"])

ELEMENT_PATH = "/opportunities/{opportunity_id}/methodology/{pack}/{element}"
INFLUENCES_PATH = "/opportunities/{opportunity_id}/buying-influences"


@router.get("/methodology/packs", response=list[s.PackSummaryOut])
def list_packs(request: HttpRequest) -> list[dict[str, Any]]:
    """Every loaded methodology pack (anyone signed in may read them)."""
    definitions = pack_definitions()
    return [
        {
            "key": pack.key,
            "name": pack.name,
            "summary": definitions[pack.key].summary,
            "elements": [e.key for e in definitions[pack.key].elements],
            "has_buying_influences": definitions[pack.key].buying_influences is not None,
        }
        for pack in pack_list()
        if pack.key in definitions
    ]


@router.get("/methodology/packs/{key}", response={200: s.PackOut, 404: ErrorOut})
def get_pack(request: HttpRequest, key: str) -> dict[str, Any]:
    """One pack's whole document: elements, question banks, fields, scales, skills."""
    definition = pack_definitions().get(key)
    if definition is None:
        raise NotFound(f"methodology pack {key!r} not found")
    return {"key": definition.key, "name": definition.name, "definition": definition.canonical()}


def _element(row: ElementRow) -> dict[str, Any]:
    return {
        "pack": row.pack.key,
        "element": row.key,
        "label": row.element.label,
        "requirement": row.requirement,
        "carried_from": row.carried_from,
        "level": row.level_key,
        "level_label": row.level_label,
        "at_top": row.at_top,
        "suggested_contact_ids": [sug.contact.pk for sug in row.suggestions],
        "assessment": row.assessment,
    }


@router.get("/opportunities/{opportunity_id}/methodology", response={200: s.PanelOut, **ERRORS})
def get_panel(request: HttpRequest, opportunity_id: int) -> dict[str, Any]:
    """The deal's methodology panel: the elements that matter at its current stage (required,
    recommended, carried gaps), the questions to ask next, and every scored element."""
    panel = methodology_panel(user=request.auth, opportunity_id=opportunity_id)
    assessments = deal_assessments(opportunity=panel.opportunity)
    return {
        "opportunity_id": opportunity_id,
        "stage": panel.stage.key,
        "packs": [
            {
                "pack": section.pack.key,
                "name": section.pack.name,
                "purpose": section.purpose,
                "has_buying_influences": section.has_influences,
                "elements": [_element(r) for r in section.elements],
                "carried_gaps": [_element(r) for r in section.carried_gaps],
            }
            for section in panel.sections
        ],
        "questions": [
            {"pack": q.pack, "element": q.element, "requirement": q.requirement, "text": q.text}
            for q in panel.questions
        ],
        "assessments": sorted(assessments.values(), key=lambda a: (a.pack, a.element)),
    }


@router.get(ELEMENT_PATH, response={200: s.AssessmentOut, **ERRORS})
def get_assessment(
    request: HttpRequest, opportunity_id: int, pack: str, element: str
) -> ElementAssessment:
    """One element's current score (404 when it has never been scored)."""
    opportunity = opportunity_get(user=request.auth, opportunity_id=opportunity_id)
    found = deal_assessments(opportunity=opportunity).get((pack, element))
    if found is None:
        raise NotFound(f"no assessment of {pack}.{element} on opportunity {opportunity_id}")
    return found


@router.put(ELEMENT_PATH, response={200: s.AssessmentOut, 201: s.AssessmentOut, **WRITE_ERRORS})
def put_assessment(
    request: HttpRequest, opportunity_id: int, pack: str, element: str, payload: s.AssessmentIn
):
    """Score an element (201 the first time; 200 replacing it, which needs ``version``)."""
    assessment = assessment_record(
        user=request.auth,
        opportunity_id=opportunity_id,
        pack=pack,
        element=element,
        level=payload.level,
        notes=payload.notes,
        answers=payload.answers,
        contact_ids=payload.contacts,
        expected_version=payload.version,
        artefact_kind=payload.artefact_kind,
        artefact_text=payload.artefact_text,
        attendee_id=payload.attendee,
    )
    return Status(201 if assessment.version == 1 else 200, assessment)


@router.post(f"{ELEMENT_PATH}/verify", response={200: s.AssessmentOut, **WRITE_ERRORS})
def verify_assessment(
    request: HttpRequest,
    opportunity_id: int,
    pack: str,
    element: str,
    payload: s.AssessmentVerifyIn,
):
    """A manager of the owner (or an admin) verifies a rep's score that awaits it: the level
    scored becomes the level that counts (422 on one's own deal or with nothing to verify)."""
    return assessment_verify(
        user=request.auth,
        opportunity_id=opportunity_id,
        pack=pack,
        element=element,
        expected_version=payload.version,
    )


@router.get(f"{ELEMENT_PATH}/history", response={200: list[s.AssessmentEventOut], **ERRORS})
def get_assessment_history(request: HttpRequest, opportunity_id: int, pack: str, element: str):
    """Every change to the element, newest first, with who and when."""
    history = element_history(
        user=request.auth, opportunity_id=opportunity_id, pack=pack, element=element
    )
    return [row.event for row in history.rows]


@router.get(INFLUENCES_PATH, response={200: list[s.InfluenceOut], **ERRORS})
def list_influences(request: HttpRequest, opportunity_id: int) -> list[BuyingInfluence]:
    opportunity = opportunity_get(user=request.auth, opportunity_id=opportunity_id)
    return deal_influences(opportunity=opportunity)


@router.get(f"{INFLUENCES_PATH}/history", response={200: list[s.InfluenceEventOut], **ERRORS})
def list_influence_history(request: HttpRequest, opportunity_id: int):
    """Every added, updated and removed buying influence, newest first."""
    opportunity = opportunity_get(user=request.auth, opportunity_id=opportunity_id)
    return list(deal_influence_history(opportunity=opportunity))


@router.post(INFLUENCES_PATH, response={201: s.InfluenceOut, **WRITE_ERRORS})
def add_influence(request: HttpRequest, opportunity_id: int, payload: s.InfluenceIn):
    """Record a contact's buying influence (Strategic-Selling-style packs only)."""
    influence = influence_save(
        user=request.auth,
        opportunity_id=opportunity_id,
        pack=payload.pack,
        contact_id=payload.contact,
        role=payload.role,
        degree=payload.degree,
        response_mode=payload.response_mode,
        rating=payload.rating,
        win_results=payload.win_results,
        notes=payload.notes,
    )
    return Status(201, influence)


@router.put(f"{INFLUENCES_PATH}/{{influence_id}}", response={200: s.InfluenceOut, **WRITE_ERRORS})
def update_influence(
    request: HttpRequest, opportunity_id: int, influence_id: int, payload: s.InfluenceUpdateIn
) -> BuyingInfluence:
    return influence_save(
        user=request.auth,
        opportunity_id=opportunity_id,
        pack=payload.pack,
        contact_id=payload.contact,
        role=payload.role,
        degree=payload.degree,
        response_mode=payload.response_mode,
        rating=payload.rating,
        win_results=payload.win_results,
        notes=payload.notes,
        influence_id=influence_id,
        expected_version=payload.version,
    )


@router.delete(f"{INFLUENCES_PATH}/{{influence_id}}", response={204: None, **WRITE_ERRORS})
def delete_influence(request: HttpRequest, opportunity_id: int, influence_id: int, version: int):
    """Remove a buying influence; ``?version=`` is the version you read (stale → 409)."""
    influence_remove(
        user=request.auth,
        opportunity_id=opportunity_id,
        influence_id=influence_id,
        expected_version=version,
    )
    return Status(204, None)
