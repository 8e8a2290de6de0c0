"""Reads for evidence, scoped through the deal's visibility (the one row rule)."""

from __future__ import annotations

from django.db.models import QuerySet

from milepost.evidence.models import Evidence, EvidenceEvent
from milepost.pipeline.selectors import opportunity_get, opportunity_scope
from milepost.team.models import User


def evidence_for_opportunity(*, user: User, opportunity_id: int) -> dict[str, Evidence]:
    """Criterion key → current evidence (any state) of a deal ``user`` may see."""
    opportunity_get(user=user, opportunity_id=opportunity_id)
    rows = Evidence.objects.filter(opportunity_id=opportunity_id).select_related(
        "recorded_by", "verified_by", "rejected_by", "confirmed_by"
    )
    return {row.criterion_key: row for row in rows}


def evidence_history(
    *, user: User, opportunity_id: int, criterion_key: str | None = None
) -> QuerySet[EvidenceEvent]:
    """Every change to a deal's evidence, oldest first (optionally for one criterion)."""
    opportunity_get(user=user, opportunity_id=opportunity_id)
    events = EvidenceEvent.objects.filter(opportunity_id=opportunity_id).select_related(
        "actor", "confirmed_by"
    )
    if criterion_key is not None:
        events = events.filter(criterion_key=criterion_key)
    return events.order_by("at", "id")


def evidence_scope(*, user: User) -> QuerySet[Evidence]:
    """Current evidence on every deal ``user`` may see (for set-based inspection)."""
    return Evidence.objects.filter(opportunity__in=opportunity_scope(user=user).values("id"))
