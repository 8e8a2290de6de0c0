"""Write the synthetic methodology scores (with their history) and buying influences of new
deals.

The rows are drawn by :mod:`.synthetic_methodology` (plain Python, no database) with the same
per-deal diligence as the evidence; this module inserts them. Not for deals that already have a
history.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import numpy as np
from django.db import connection
from django.utils import timezone

from milepost.demo import bulk, synthetic_evidence, synthetic_methodology
from milepost.engine.process_schema import ProcessDef
from milepost.methodology.models import (
    BuyingInfluence,
    BuyingInfluenceEvent,
    ElementAssessment,
    ElementAssessmentEvent,
    InfluenceAction,
)
from milepost.pipeline.models import Opportunity
from milepost.process.models import Stage, StageKind
from milepost.process.selectors import pack_definitions
from milepost.team.models import User


def write_methodology(
    opps: list[Opportunity],
    history: Any,
    stage_by_index: list[Stage],
    roles: list[tuple[Any, ...]],
    *,
    created_at: list[datetime],
    entered_at: list[datetime],
    seed: int,
) -> tuple[int, int]:
    """Element scores with their history, and buying influences, for the new deals, by the
    same per-deal diligence as their evidence (see :mod:`.synthetic_methodology`)."""
    process = ProcessDef.model_validate(stage_by_index[0].version.definition)
    packs = {
        k: v
        for k, v in pack_definitions().items()
        if k in {use.pack for use in process.methodologies}
    }
    if not packs:
        return 0, 0
    k = len(process.open_stages)
    kinds = [stage_by_index[int(f)].kind for f in history.final_stage.tolist()]
    finals = history.final_stage.tolist()
    current = [
        int(f) if kind == StageKind.OPEN else None for f, kind in zip(finals, kinds, strict=True)
    ]
    passed = [
        int(f) if kind == StageKind.OPEN else (k if kind == StageKind.WON else 0)
        for f, kind in zip(finals, kinds, strict=True)
    ]
    index = {o.pk: i for i, o in enumerate(opps)}
    deal_roles: list[list[tuple[int, str]]] = [[] for _ in opps]
    for opp_id, contact_id, role, *_ in roles:
        deal_roles[index[opp_id]].append((contact_id, role))
    diligence = synthetic_evidence.deal_diligence(len(opps), seed=seed + 1)  # as the evidence
    now = timezone.now()
    args = (process, packs, passed, current, diligence, deal_roles, created_at, entered_at, now)
    rows = synthetic_methodology.assessment_rows(*args, seed=seed + 4)
    _verify(rows, opps, packs, process, current, seed=seed + 6)
    adapt_dt = connection.ops.adapt_datetimefield_value

    # JSON columns as their text, once per score (its events repeat it): both databases take
    # the text (PostgreSQL's COPY parses it into jsonb), without an adapter object per value.
    for r in rows:
        r["answers_json"] = json.dumps(r["answers"])
        r["contact_ids_json"] = json.dumps(r["contact_ids"])

    def deal(r: dict[str, Any]) -> Opportunity:
        return opps[r["deal"]]

    bulk.insert_rows(
        ElementAssessment,
        [
            "opportunity",
            "pack",
            "element",
            "level",
            "verified_level",
            "verified_by",
            "verified_at",
            "accepted_by_rule",
            "notes",
            "answers",
            "updated_by",
            "updated_at",
            "version",
        ],
        [
            (
                deal(r).pk,
                r["pack"],
                r["element"],
                r["level"],
                r["verified_level"],
                r["verified_by"],
                adapt_dt(r["events"][-1][2]) if r["verified_by"] else None,
                "",
                r["notes"],
                r["answers_json"],
                deal(r).owner_id,
                adapt_dt(r["events"][-1][2]),
                len(r["events"]) + bool(r["verified_by"]),
            )
            for r in rows
        ],
    )
    # Rows inserted in one transaction get increasing ids: match them to ``rows`` in order.
    ids = list(
        ElementAssessment.objects.filter(opportunity_id__in=list(index))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if len(ids) != len(rows):  # pragma: no cover - would be a bug
        raise AssertionError("assessment ids do not match the inserted rows")
    bulk.insert_rows(
        ElementAssessment.contacts.through,
        ["elementassessment", "contact"],
        [(a, c) for a, r in zip(ids, rows, strict=True) for c in r["contact_ids"]],
    )
    bulk.insert_rows(
        ElementAssessmentEvent,
        [
            "assessment",
            "opportunity",
            "pack",
            "element",
            "level",
            "verified_level",
            "verified",
            "previous_level",
            "accepted_by_rule",
            "notes",
            "answers",
            "contact_ids",
            "actor",
            "at",
        ],
        [
            (
                a,
                deal(r).pk,
                r["pack"],
                r["element"],
                level,
                counted,
                verified,
                previous,
                "",
                r["notes"],
                r["answers_json"],
                r["contact_ids_json"],
                actor or deal(r).owner_id,
                adapt_dt(at),
            )
            for a, r in zip(ids, rows, strict=True)
            for level, counted, verified, previous, actor, at in _events(r)
        ],
    )
    influences = synthetic_methodology.influence_rows(*args, seed=seed + 5)
    bulk.insert_rows(
        BuyingInfluence,
        [
            "opportunity",
            "contact",
            "pack",
            "role",
            "degree",
            "response_mode",
            "rating",
            "notes",
            "win_results",
            "updated_by",
            "updated_at",
            "version",
        ],
        [
            (
                deal(r).pk,
                r["contact"],
                r["pack"],
                r["role"],
                r["degree"],
                r["response_mode"],
                r["rating"],
                r["notes"],
                "",
                deal(r).owner_id,
                adapt_dt(r["at"]),
                1,
            )
            for r in influences
        ],
    )
    bulk.insert_rows(
        BuyingInfluenceEvent,
        [
            "opportunity",
            "action",
            "contact",
            "role",
            "degree",
            "response_mode",
            "rating",
            "win_results",
            "notes",
            "actor",
            "at",
        ],
        [
            (
                deal(r).pk,
                InfluenceAction.ADDED.value,
                r["contact"],
                r["role"],
                r["degree"],
                r["response_mode"],
                r["rating"],
                "",
                r["notes"],
                deal(r).owner_id,
                adapt_dt(r["at"]),
            )
            for r in influences
        ],
    )
    return len(rows), len(influences)


def _verify(
    rows: list[dict[str, Any]],
    opps: list[Opportunity],
    packs: dict[str, Any],
    process: ProcessDef,
    current: list[int | None],
    *,
    seed: int,
) -> None:
    """Which level counts: the owner (a rep) scored every row, so a level only a manager may
    set counts once the owner's manager verified it; that happened, except for
    :data:`synthetic_evidence.PENDING_CLAIM_RATE` of such scores on open deals, which still
    await the manager (they count at the level below). Sets ``verified_level`` and
    ``verified_by`` on each row."""
    rng = np.random.default_rng(seed)
    managers = dict(
        User.objects.filter(pk__in={o.owner_id for o in opps}).values_list("pk", "manager_id")
    )
    uses = {use.pack: use for use in process.methodologies}
    for r in rows:
        scale = packs[r["pack"]].scale_of(r["element"])
        use = uses.get(r["pack"])
        limit = use.rep_limit(r["element"]) if use is not None else None
        r["counted_by_rep"] = {
            level: scale.rep_counts(level, rep_up_to=limit) for level, _, _ in r["events"]
        }
        counted = r["counted_by_rep"][r["level"]]
        manager = managers.get(opps[r["deal"]].owner_id)
        waiting = current[r["deal"]] is not None and (
            rng.random() < synthetic_evidence.PENDING_CLAIM_RATE
        )
        if counted == r["level"] or manager is None or waiting:
            r["verified_level"], r["verified_by"] = counted, None
        else:
            r["verified_level"], r["verified_by"] = r["level"], manager


def _events(r: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The row's history: each score (counting as a rep's), then the manager's verification."""
    out: list[tuple[Any, ...]] = [
        (level, r["counted_by_rep"][level], False, previous, None, at)
        for level, previous, at in r["events"]
    ]
    if r["verified_by"]:
        at = r["events"][-1][2]
        out.append((r["level"], r["level"], True, r["level"], r["verified_by"], at))
    return out
