"""Reads for evidence, scoped through the deal's visibility (the one row rule)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import FileResponse
from django.utils.translation import gettext

from milepost.core.errors import NotFound
from milepost.evidence.models import (
    AcceptanceRule,
    AcceptanceRuleKind,
    Artefact,
    BuyerClaim,
    Evidence,
    EvidenceEvent,
    EvidenceState,
)
from milepost.pipeline.selectors import opportunity_get, opportunity_scope
from milepost.team.models import User


def evidence_for_opportunity(*, user: User, opportunity_id: int) -> dict[str, Evidence]:
    """Criterion key → current evidence (any state) of a deal ``user`` may see."""
    opportunity_get(user=user, opportunity_id=opportunity_id)
    rows = Evidence.objects.filter(opportunity_id=opportunity_id).select_related(
        "recorded_by", "verified_by", "rejected_by", "confirmed_by", "artefact"
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


def claims_awaiting(*, user: User) -> QuerySet[Evidence]:
    """Buyer-confirmation claims ``user`` may review: pending, active, on deals they may see
    and do not own (nobody reviews their own claims), oldest first."""
    return (
        evidence_scope(user=user)
        .filter(state=EvidenceState.ACTIVE, buyer_claim=BuyerClaim.PENDING)
        .exclude(opportunity__owner_id=user.pk)
        .select_related("opportunity__owner", "confirmed_by", "artefact", "recorded_by")
        .order_by("recorded_at", "id")
    )


def artefact_get(*, user: User, artefact_id: int) -> Artefact:
    """An artefact on a deal ``user`` may see; :class:`NotFound` otherwise (never which)."""
    artefact = (
        Artefact.objects.filter(
            pk=artefact_id, opportunity__in=opportunity_scope(user=user).values("id")
        )
        .select_related("attendee")
        .first()
    )
    if artefact is None:
        raise NotFound(gettext("no such artefact"))
    return artefact


def artefact_file_response(*, user: User, artefact_id: int) -> FileResponse:
    """The artefact's file as a download (never shown inline: it is the buyer's document, and
    an HTML or SVG file must not run in the site's origin). NotFound without a file."""
    artefact = artefact_get(user=user, artefact_id=artefact_id)
    if not artefact.file:
        raise NotFound(gettext("this artefact has no file"))
    try:
        handle = artefact.file.open("rb")
    except FileNotFoundError:
        raise NotFound(gettext("the file is missing from storage")) from None
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=artefact.file_name or "artefact",
        content_type=artefact.content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


def acceptance_rules(*, user: User) -> list[dict[str, Any]]:
    """Every acceptance rule with its state (sales-ops admins only: PermissionDenied)."""
    if not (user.is_authenticated and user.is_active and user.is_admin):
        raise PermissionDenied(gettext("only sales-ops admins see acceptance rules"))
    stored = {r.kind: r for r in AcceptanceRule.objects.all()}
    out = []
    for kind in AcceptanceRuleKind:
        rule = stored.get(kind.value)
        out.append(
            {
                "kind": kind.value,
                "label": str(kind.label),
                "enabled": bool(rule and rule.enabled),
                "changed_by_id": rule.changed_by_id if rule else None,
                "changed_at": rule.changed_at if rule else None,
                "version": rule.version if rule else None,
            }
        )
    return out
