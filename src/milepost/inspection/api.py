"""Inspection endpoints of the REST API: the ranked deals not under control, one deal's
explanation, the signal x rep counts, and one deal's exit criteria (its process map).

Every answer comes from one :func:`inspect_pipeline` (or :func:`inspect_opportunity`) call for
the asker, so the row-level rule is the pipeline's; a hidden deal is a 404 like a missing one.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja import Query, Router

from milepost.core.schemas import ERRORS, ErrorOut
from milepost.engine.risk_model import risk_sentence
from milepost.engine.signals import SIGNAL_LABELS

# The criteria answer embeds evidence rows, so its shapes are the evidence API's.
from milepost.evidence import schemas as evidence_schemas
from milepost.inspection import schemas as s
from milepost.inspection.deal import inspect_opportunity
from milepost.inspection.forms import DealFilters, signal_matrix, signals_by_deal
from milepost.inspection.pipeline import inspect_pipeline
from milepost.pipeline.selectors import opportunity_scope
from milepost.team.selectors import user_list

router = Router(tags=["inspection"])


def _filters(query: s.SummaryQuery, **extra) -> DealFilters:
    return DealFilters.build(
        stage_key=query.stage,
        period=query.period,
        close_from=query.close_from,
        close_to=query.close_to,
        **extra,
    )


@router.get("/inspection/deals", response=s.DealPage)
def list_deals(request: HttpRequest, query: Query[s.DealQuery]):
    """Open deals you may see, ranked by money at risk (``priority``: amount x the chance of a
    loss or slip), with their signals.
    By default only the deals not under control (``under_control=all`` for every deal) and not
    snoozed (``snoozed=yes`` lists the snoozed ones). A snoozed signal is not listed and adds
    nothing to the chance while its snooze applies."""
    filters = _filters(
        query,
        owner_id=query.rep,
        signal=query.signal,
        control=query.under_control,
        flagged=query.flagged,
        snoozed=query.snoozed,
    )
    result = inspect_pipeline(user=request.auth)
    deals = filters.deals(result)
    limit = min(query.limit, settings.MILEPOST_API_PAGE_SIZE_MAX)
    page = deals.slice(query.offset, limit)
    ids = page["opportunity_id"].to_list()
    names = {
        row["id"]: row
        for row in opportunity_scope(user=request.auth)
        .filter(pk__in=ids)
        .values("id", "name", "currency")
    }
    signals = signals_by_deal(result, ids)
    snoozed = set(result.snoozes.filter(signal="")["opportunity_id"])
    items = [
        {
            **deal,
            "name": names.get(deal["opportunity_id"], {}).get("name", ""),
            "currency": names.get(deal["opportunity_id"], {}).get("currency", "USD"),
            "signals": signals[deal["opportunity_id"]],
            "snoozed": deal["opportunity_id"] in snoozed,
            "risk_text": risk_sentence(
                deal["risk_probability"],
                [x["label"] for x in signals[deal["opportunity_id"]] if x["contribution"] > 0],
            ),
        }
        for deal in page.iter_rows(named=True)
    ]
    return {"items": items, "count": deals.height, "limit": limit, "offset": query.offset}


@router.get(
    "/inspection/deals/{opportunity_id}",
    response={200: s.ExplanationOut, 404: ErrorOut},
)
def get_deal(request: HttpRequest, opportunity_id: int):
    """One deal explained: criteria per stage with reasons, signals, risk and next actions."""
    inspection = inspect_opportunity(user=request.auth, opportunity_id=opportunity_id)
    criteria = inspection.criteria
    opp = criteria.opportunity
    return {
        "opportunity_id": opp.pk,
        "name": opp.name,
        "owner_id": opp.owner_id,
        "claimed_stage": criteria.claimed_stage,
        "verified_stage": criteria.verified_stage,
        "under_control": criteria.under_control,
        "first_gap": criteria.first_gap,
        "risk": inspection.risk,
        "risk_probability": inspection.risk_probability,
        "risk_text": inspection.risk_text,
        "signals": [
            {**sig, "label": SIGNAL_LABELS.get(sig["signal"], sig["signal"])}
            for sig in inspection.signals
        ],
        "unmet": criteria.unmet_ids(),
        "next_actions": inspection.next_actions,
        "stages": [
            {
                "key": view.stage.key,
                "label": view.stage.label,
                "position": view.position,
                "all_met": view.all_met,
                "criteria": [
                    {
                        "id": c.criterion.id,
                        "statement": c.criterion.statement,
                        "status": str(c.status),
                        "reason": c.reason,
                        "how": list(c.provenance.how),
                        "by": c.provenance.by,
                        "self_assessed": c.provenance.self_assessed,
                    }
                    for c in view.criteria
                ],
            }
            for view in criteria.stages
        ],
    }


@router.get("/inspection/summary", response=s.SummaryOut)
def summary(request: HttpRequest, query: Query[s.SummaryQuery]):
    """Per rep: open deals, how many are (not) under control, and deals per signal."""
    result = inspect_pipeline(user=request.auth)
    deals = _filters(query, control="all", snoozed="all").deals(result)
    names = {u.pk: str(u) for u in user_list(user=request.auth)}
    reps = [
        {
            "rep_id": row["owner_id"],
            "rep_name": names.get(row["owner_id"], f"User {row['owner_id']}"),
            "deals": row["deals"],
            "under_control": row["under_control"],
            "not_under_control": row["not_under_control"],
            "signals": {key: row[key] for key in SIGNAL_LABELS},
        }
        for row in signal_matrix(result, deals).sort("owner_id").iter_rows(named=True)
    ]
    return {
        "signals": [{"key": k, "label": v} for k, v in SIGNAL_LABELS.items()],
        "reps": reps,
    }


@router.get(
    "/opportunities/{opportunity_id}/criteria",
    response={200: evidence_schemas.CriteriaOut, **ERRORS},
    tags=["evidence", "inspection"],
    # Published as the evidence API's operation before it moved here; clients depend on the id.
    operation_id="milepost_evidence_api_get_criteria",
)
def get_criteria(request: HttpRequest, opportunity_id: int) -> dict[str, Any]:
    """The deal's process map: every open stage's exit criteria with status, reason, rule result
    and evidence, the claimed and verified stage, control, risk, signals and next actions."""
    inspection = inspect_opportunity(user=request.auth, opportunity_id=opportunity_id)
    explanation = inspection.criteria
    return {
        "opportunity_id": opportunity_id,
        "claimed_stage": explanation.claimed_stage,
        "claimed_kind": explanation.claimed_kind,
        "verified_stage": explanation.verified_stage,
        "under_control": explanation.under_control,
        "first_gap": explanation.first_gap,
        "risk": inspection.risk,
        "signals": [
            {
                "signal": sig["signal"],
                "label": SIGNAL_LABELS.get(sig["signal"], sig["signal"]),
                "weight": sig["weight"],
                "reason": sig["reason"],
            }
            for sig in inspection.signals
        ],
        "next_actions": inspection.next_actions,
        "stages": [
            {
                "key": view.stage.key,
                "label": view.stage.label,
                "position": view.position,
                "all_met": view.all_met,
                "criteria": [
                    {
                        "key": c.criterion.id,
                        "statement": c.criterion.statement,
                        "verifier": c.criterion.verifier,
                        "needs_evidence": c.criterion.needs_evidence,
                        "status": c.status,
                        "reason": c.reason,
                        "how": list(c.provenance.how),
                        "by": c.provenance.by,
                        "self_assessed": c.provenance.self_assessed,
                        "rule": (
                            None
                            if c.rule is None
                            else {"status": c.rule.status, "reason": c.rule.reason}
                        ),
                        "evidence": c.evidence,
                    }
                    for c in view.criteria
                ],
            }
            for view in explanation.stages
        ],
    }
