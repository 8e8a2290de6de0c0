"""Write the synthetic exit-criteria evidence and close-date pushes of new deals.

The rows are drawn by :mod:`.synthetic_evidence` (plain Python, no database); this module reads
what they need (managers, habits) and inserts them. Not for deals that already have a history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection
from django.utils import timezone

from milepost.accounts.models import Contact
from milepost.demo import bulk, synthetic_evidence
from milepost.demo.pipeline_shape import PUSHED_RATE_CLOSED
from milepost.engine.process_schema import ProcessDef
from milepost.evidence.models import Artefact, Evidence
from milepost.pipeline.choices import TransitionSource
from milepost.pipeline.models import Opportunity, OpportunityChange
from milepost.process.models import Stage, StageKind
from milepost.team.models import User


def owner_habits(owner_ids: list[int], *, seed: int) -> dict[int, str]:
    """The reps' coachable habits (see :func:`.synthetic_evidence.rep_habits`), by team."""
    teams = dict(User.objects.filter(pk__in=set(owner_ids)).values_list("pk", "manager_id"))
    return synthetic_evidence.rep_habits(owner_ids, seed=seed + 5, teams=teams)


def write_evidence(
    opps: list[Opportunity],
    history: Any,
    stage_by_index: list[Stage],
    deal_contacts: dict[int, list[Contact]],
    *,
    entered_at: list[datetime],
    created_at: list[datetime],
    seed: int,
) -> tuple[int, int]:
    """Evidence for passed stages and close-date pushes (see :mod:`.synthetic_evidence`)."""
    version = stage_by_index[0].version
    process = ProcessDef.model_validate(version.definition)
    k = len(process.open_stages)
    kinds = [stage_by_index[int(f)].kind for f in history.final_stage.tolist()]
    passed = [
        int(f) if kind == StageKind.OPEN else (k if kind == StageKind.WON else 0)
        for f, kind in zip(history.final_stage.tolist(), kinds, strict=True)
    ]
    first_contact = [
        deal_contacts[i][0].pk if deal_contacts.get(i) else None for i in range(len(opps))
    ]
    managers = dict(
        User.objects.filter(pk__in={o.owner_id for o in opps}).values_list("pk", "manager_id")
    )
    adapt_dt = connection.ops.adapt_datetimefield_value
    adapt_date = connection.ops.adapt_datefield_value
    habits = owner_habits([o.owner_id for o in opps], seed=seed)
    rows = synthetic_evidence.evidence_rows(
        process,
        passed,
        first_contact,
        entered_at,
        seed=seed + 1,
        shallow=[habits.get(o.owner_id) == "shallow_discovery" for o in opps],
        is_open=[kind == StageKind.OPEN for kind in kinds],
    )
    artefacts = _write_artefacts(opps, rows, adapt_dt)
    evidence = []
    for r, artefact_id in zip(rows, artefacts, strict=True):
        opp = opps[r["deal"]]
        at = adapt_dt(r["recorded_at"])
        # The manager verified manager-level evidence and accepted the buyer's artefact.
        vouched = r["level"] == "manager" or r["claim"] == "accepted"
        manager = managers.get(opp.owner_id) if vouched else None
        rejected = r["state"] == "rejected"
        evidence.append(
            (
                opp.pk,
                r["criterion_key"],
                r["state"],
                r["level"],
                "artefact" if r["claim"] else "rep_claim",
                r["claim"],
                "",
                artefact_id,
                r["note"],
                "",
                adapt_date(r["evidence_date"]) if r["evidence_date"] else None,
                r["confirmed_by"],
                opp.owner_id,
                at,
                manager,
                at if manager else None,
                managers.get(opp.owner_id) if rejected else None,
                at if rejected else None,
                r["rejection_reason"],
                at,
                1,
            )
        )
    bulk.insert_rows(
        Evidence,
        [
            "opportunity",
            "criterion_key",
            "state",
            "level",
            "source",
            "buyer_claim",
            "accepted_by_rule",
            "artefact",
            "note",
            "link",
            "evidence_date",
            "confirmed_by",
            "recorded_by",
            "recorded_at",
            "verified_by",
            "verified_at",
            "rejected_by",
            "rejected_at",
            "rejection_reason",
            "updated_at",
            "version",
        ],
        evidence,
    )
    open_deals = [i for i, kind in enumerate(kinds) if kind == StageKind.OPEN]
    pushes = synthetic_evidence.push_rows(
        open_deals,
        created_at,
        [o.close_date for o in opps],
        timezone.now(),
        seed=seed + 2,
    )
    for offset, outcome in enumerate(("won", "lost")):  # lost deals were pushed more often
        pushes += synthetic_evidence.push_rows(
            [i for i, kind in enumerate(kinds) if kind == outcome],
            created_at,
            [o.close_date for o in opps],
            timezone.now(),
            seed=seed + 20 + offset,
            rate=PUSHED_RATE_CLOSED[outcome],
            ends=entered_at,
        )
    bulk.insert_rows(
        OpportunityChange,
        [
            "opportunity",
            "changed_at",
            "changed_by",
            "source",
            "close_date_from",
            "close_date_to",
            "close_date_shift_days",
        ],
        [
            (
                opps[r["deal"]].pk,
                adapt_dt(r["changed_at"]),
                opps[r["deal"]].owner_id,
                TransitionSource.SYNTHETIC.value,
                adapt_date(r["close_date_from"]),
                adapt_date(r["close_date_to"]),
                r["close_date_shift_days"],
            )
            for r in pushes
        ],
    )
    return len(evidence), len(pushes)


def _write_artefacts(
    opps: list[Opportunity], rows: list[dict[str, Any]], adapt_dt: Any
) -> list[Any]:
    """A synthetic meeting-notes artefact naming the contact for every buyer claim (the row's
    ``claim``); the artefact's id per row (None without a claim)."""
    claimed = [r for r in rows if r["claim"]]
    if not claimed:
        return [None] * len(rows)
    names = dict(
        Contact.objects.filter(pk__in={r["confirmed_by"] for r in claimed}).values_list(
            "pk", "first_name"
        )
    )
    before = Artefact.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    bulk.insert_rows(
        Artefact,
        [
            "opportunity",
            "kind",
            "file",
            "file_name",
            "content_type",
            "size",
            "text",
            "email_from",
            "email_subject",
            "attendee",
            "uploaded_by",
            "uploaded_at",
        ],
        [
            (
                opps[r["deal"]].pk,
                "meeting_notes",
                "",
                "",
                "",
                0,
                synthetic_evidence.ARTEFACT_NOTE.format(name=names.get(r["confirmed_by"], "")),
                "",
                "",
                r["confirmed_by"],
                opps[r["deal"]].owner_id,
                adapt_dt(r["recorded_at"]),
            )
            for r in claimed
        ],
    )
    # Inserted in this order inside the import's transaction: ids follow it.
    ids = iter(Artefact.objects.filter(pk__gt=before).order_by("pk").values_list("pk", flat=True))
    return [next(ids) if r["claim"] else None for r in rows]
