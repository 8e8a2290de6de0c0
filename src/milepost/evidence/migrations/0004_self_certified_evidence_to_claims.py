"""Evidence that a rep self-certified as buyer-confirmed becomes a claim awaiting verification.

Before 0003 anyone could tick "buyer confirmed". Now buyer confirmation comes only from an
accepted artefact or a buyer action, so, honestly:

* buyer-level evidence a manager verified afterwards keeps its level (a manager did accept
  it): the claim is *accepted*;
* buyer-level evidence recorded by someone other than the deal's owner (a manager, who vouched
  for it) counts as manager-verified, its buyer confirmation *pending*;
* every other buyer-level row counts at the rep's level, its buyer confirmation *pending*.

Each changed row gets a ``migrated`` history event and a new version (a form loaded before is
stale). Every row's ``source`` says whether the owner (``rep_claim``) or someone else
(``manager``) recorded it. Reversible: the backward step restores the buyer level of the rows
this step changed (found by their ``migrated`` event).
"""

from __future__ import annotations

from typing import Any

from django.db import migrations
from django.db.models import F
from django.utils import timezone

REASON = "self-certified buyer confirmation turned into a claim awaiting verification"
BATCH = 2000


def claims_from_self_certification(apps: Any, schema_editor: Any = None) -> int:
    """Apply the rules above; returns how many rows became claims."""
    Evidence = apps.get_model("evidence", "Evidence")
    EvidenceEvent = apps.get_model("evidence", "EvidenceEvent")
    Evidence.objects.exclude(recorded_by_id=None).exclude(
        recorded_by_id=F("opportunity__owner_id")
    ).update(source="manager")
    now = timezone.now()
    changed = 0
    rows = (
        Evidence.objects.filter(level="buyer")
        .select_related("opportunity")
        .order_by("pk")
        .iterator(chunk_size=BATCH)
    )
    batch: list[Any] = []

    def flush() -> None:
        Evidence.objects.bulk_update(
            batch,
            [
                "level",
                "buyer_claim",
                "source",
                "verified_by",
                "verified_at",
                "updated_at",
                "version",
            ],
        )
        EvidenceEvent.objects.bulk_create(
            [
                EvidenceEvent(
                    evidence_id=e.pk,
                    opportunity_id=e.opportunity_id,
                    criterion_key=e.criterion_key,
                    action="migrated",
                    actor_id=None,
                    at=now,
                    state=e.state,
                    level=e.level,
                    source=e.source,
                    buyer_claim=e.buyer_claim,
                    note=e.note,
                    link=e.link,
                    evidence_date=e.evidence_date,
                    confirmed_by_id=e.confirmed_by_id,
                    reason=REASON,
                )
                for e in batch
                if e.buyer_claim == "pending"
            ]
        )
        batch.clear()

    for e in rows:
        owner = e.opportunity.owner_id
        if e.verified_by_id is not None and e.verified_by_id != owner:
            e.buyer_claim = "accepted"
        elif e.recorded_by_id is not None and e.recorded_by_id != owner:
            e.level, e.buyer_claim, e.source = "manager", "pending", "manager"
            e.verified_by_id, e.verified_at = e.recorded_by_id, e.recorded_at
            changed += 1
        else:
            e.level, e.buyer_claim, e.source = "rep", "pending", "rep_claim"
            e.verified_by_id, e.verified_at = None, None
            changed += 1
        if e.buyer_claim == "pending":
            e.updated_at = now
            e.version += 1
        batch.append(e)
        if len(batch) >= BATCH:
            flush()
    if batch:
        flush()
    return changed


def back_to_buyer(apps: Any, schema_editor: Any = None) -> None:
    Evidence = apps.get_model("evidence", "Evidence")
    EvidenceEvent = apps.get_model("evidence", "EvidenceEvent")
    ids = EvidenceEvent.objects.filter(action="migrated").values("evidence_id")
    Evidence.objects.filter(pk__in=ids, buyer_claim="pending").update(
        level="buyer", buyer_claim="", verified_by=None, verified_at=None
    )
    Evidence.objects.filter(buyer_claim="accepted").update(buyer_claim="")


class Migration(migrations.Migration):
    dependencies = [("evidence", "0003_evidence_sources_and_artefacts")]

    operations = [migrations.RunPython(claims_from_self_certification, back_to_buyer)]
