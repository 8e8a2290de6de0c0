"""Reads for methodologies: the loaded packs (cached by checksum) and a deal's assessments."""

from __future__ import annotations

from django.db.models import QuerySet

from milepost.engine.methodology_schema import MethodologyDef, element_scales
from milepost.methodology.models import (
    BuyingInfluence,
    BuyingInfluenceEvent,
    ElementAssessment,
    ElementAssessmentEvent,
    MethodologyPack,
)
from milepost.pipeline.models import Opportunity

_CACHE: dict[tuple[tuple[str, str], ...], dict[str, MethodologyDef]] = {}


def pack_definitions() -> dict[str, MethodologyDef]:
    """Every loaded pack, validated, by key. One small query; parsing is cached by checksum."""
    stamp = tuple(MethodologyPack.objects.order_by("key").values_list("key", "checksum"))
    cached = _CACHE.get(stamp)
    if cached is None:
        cached = {
            pack.key: MethodologyDef.model_validate(pack.definition)
            for pack in MethodologyPack.objects.order_by("key")
        }
        _CACHE.clear()
        _CACHE[stamp] = cached
    return cached


def scales() -> dict[tuple[str, str], tuple[str, ...]]:
    """(pack, element) -> level keys lowest first, for exit-criterion rules on elements."""
    return element_scales(pack_definitions())


def pack_list() -> QuerySet[MethodologyPack]:
    return MethodologyPack.objects.order_by("name")


def deal_assessments(*, opportunity: Opportunity) -> dict[tuple[str, str], ElementAssessment]:
    """The deal's current element scores by (pack, element), contacts prefetched.

    The caller has already checked the user may see ``opportunity``.
    """
    rows = (
        ElementAssessment.objects.filter(opportunity=opportunity)
        .select_related("updated_by")
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
