"""Feed the set-based form (:func:`milepost.engine.control_frames.control_frame`) from
snapshots, so engine tests can hold it to the explained form without a database.

Inspection computes the aggregate columns a :class:`CriteriaPlan` names with SQL ``GROUP BY``
(docs/inspection.md); here they are counted in plain Python from the snapshots, with the
plan's own window bounds (:meth:`CriteriaPlan.window`, which the SQL uses too). The criteria
statuses, evidence and verified stage then come from the production expressions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import polars as pl

from milepost.engine.control_frames import StageCriteria, control_frame, evidence_codes
from milepost.engine.criteria import OpportunitySnapshot, Scales
from milepost.engine.criteria_frames import CriteriaPlan, opportunity_schema
from milepost.engine.evidence import EVIDENCE_SCHEMA, CriterionMeta
from milepost.engine.vocabulary import OPPORTUNITY_FIELDS

STAGE = "only_stage"


def _happened(plan: CriteriaPlan, days: int | None, at: datetime) -> bool:
    earliest, latest = plan.window(days)
    return at <= latest and (earliest is None or at >= earliest)


def wide_frame(
    plan: CriteriaPlan,
    snapshots: Sequence[OpportunitySnapshot],
    schema: Mapping[str, pl.DataType],
    claims: Mapping[int, tuple[str, str]] | None = None,
    default_claim: tuple[str, str] = (STAGE, "open"),
) -> pl.DataFrame:
    """One row per snapshot: its fields, every aggregate column of ``plan``, and the claimed
    ``stage_key`` / ``stage_kind`` (``claims`` by deal id, else ``default_claim``)."""
    rows: list[dict[str, Any]] = []
    for s in snapshots:
        row: dict[str, Any] = {
            "opportunity_id": s.id,
            **{f: s.value(f) for f in OPPORTUNITY_FIELDS},
        }
        for role, name in plan.role_aggs.items():
            row[name] = len({contact for contact, r in s.contact_roles if r == role})
        for (types, days), name in plan.activity_aggs.items():
            row[name] = sum(
                1 for a in s.activities if a.type in types and _happened(plan, days, a.occurred_at)
            )
        for days, name in plan.engaged_aggs.items():
            row[name] = len(
                {
                    contact
                    for a in s.activities
                    if _happened(plan, days, a.occurred_at)
                    for contact in a.contact_ids
                }
            )
        levels = {(pack, element): level for pack, element, level in s.elements}
        for key, name in plan.element_aggs.items():
            row[name] = levels.get(key)
        row["stage_key"], row["stage_kind"] = (claims or {}).get(s.id, default_claim)
        rows.append(row)
    full: dict[str, Any] = {
        **schema,
        **dict.fromkeys(plan.count_columns, pl.Int64),
        **dict.fromkeys(plan.element_aggs.values(), pl.String),
        "stage_key": pl.String,
        "stage_kind": pl.String,
    }
    return pl.DataFrame(rows, schema=full, orient="row")


def snapshot_schema(snapshots: Sequence[OpportunitySnapshot]) -> dict[str, pl.DataType]:
    """The opportunity columns, with the amount at the largest scale the snapshots use."""
    amounts = [s.amount for s in snapshots if s.amount is not None]
    return opportunity_schema(max([2, *(-int(a.as_tuple().exponent) for a in amounts)]))


def control(
    snapshots: Sequence[OpportunitySnapshot],
    stages: Sequence[tuple[str, Sequence[tuple[CriterionMeta, Any]]]],
    as_of: datetime,
    *,
    scales: Scales | None = None,
    evidence: Sequence[tuple[int, str, str, str]] = (),
    claims: Mapping[int, tuple[str, str]] | None = None,
) -> tuple[pl.DataFrame, dict[tuple[int, str], str]]:
    """Run :func:`control_frame` over ``snapshots``: ``stages`` are the open stages in order,
    each with its criteria as ``(meta, rule or None)``; ``evidence`` rows are ``(deal,
    criterion, state, level)``; deals claim the first stage unless ``claims`` says otherwise
    (``(stage key, kind)`` by deal id). Returns the control frame and every (deal,
    criterion) status."""
    flat = [(meta, rule) for _, criteria in stages for meta, rule in criteria]
    schema = snapshot_schema(snapshots)
    plan = CriteriaPlan([(m.criterion_id, rule) for m, rule in flat], as_of, schema, scales)
    stage_criteria = StageCriteria(
        [key for key, _ in stages], [[m for m, _ in criteria] for _, criteria in stages]
    )
    codes = evidence_codes(
        pl.DataFrame(list(evidence), schema=EVIDENCE_SCHEMA, orient="row"),
        [m.criterion_id for m, _ in flat],
    )
    frame, statuses = control_frame(
        wide_frame(plan, snapshots, schema, claims, (stages[0][0], "open")),
        plan,
        stage_criteria,
        codes,
        with_statuses=True,
    )
    assert statuses is not None
    return frame, {
        (r["opportunity_id"], r["criterion_id"]): r["status"] for r in statuses.to_dicts()
    }
