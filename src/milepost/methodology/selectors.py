"""Reads for methodologies on a deal: element assessments, buying influences, their history.

The loaded packs themselves are read with :func:`milepost.process.selectors.pack_definitions`.
"""

from __future__ import annotations

from django.db.models import QuerySet

from milepost.methodology.models import (
    BuyingInfluence,
    BuyingInfluenceEvent,
    ElementAssessment,
    ElementAssessmentEvent,
)
from milepost.pipeline.models import Opportunity


def deal_assessments(*, opportunity: Opportunity) -> dict[tuple[str, str], ElementAssessment]:
    """The deal's current element scores by (pack, element), contacts prefetched.

    The caller has already checked the user may see ``opportunity``.
    """
    rows = (
        ElementAssessment.objects.filter(opportunity=opportunity)
        .select_related("updated_by", "artefact", "artefact__attendee")
        .prefetch_related("contacts")
    )
    return {(row.pack, row.element): row for row in rows}


def deal_assessment_history(
    *, opportunity: Opportunity, pack: str | None = None, element: str | None = None
) -> QuerySet[ElementAssessmentEvent]:
    rows = ElementAssessmentEvent.objects.filter(opportunity=opportunity).select_related("actor")
    if pack is not None:
        rows = rows.filter(pack=pack)
    if element is not None:
        rows = rows.filter(element=element)
    return rows.order_by("-at", "-id")


def deal_influences(*, opportunity: Opportunity) -> list[BuyingInfluence]:
    return list(
        BuyingInfluence.objects.filter(opportunity=opportunity)
        .select_related("contact", "updated_by")
        .order_by("role", "contact__last_name", "id")
    )


def deal_influence_history(*, opportunity: Opportunity) -> QuerySet[BuyingInfluenceEvent]:
    return (
        BuyingInfluenceEvent.objects.filter(opportunity=opportunity)
        .select_related("actor", "contact")
        .order_by("-at", "-id")
    )
