"""Analytics endpoints (``/api/v1/analytics/...``): the figures of the analytics pages, with
the same filters (:class:`~milepost.analytics.filters.AnalyticsFilters`) and the same scoping
(the asker's visible deals), as JSON. Amounts are decimal strings, rates fractions (0-1) with
their sample, Wilson 95% interval and ``too_few`` flag; days are floats.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema

from milepost.analytics import selectors
from milepost.analytics.effectiveness_text import suggestion_text, verdict_text
from milepost.analytics.filters import AnalyticsFilters
from milepost.core.schemas import ERRORS
from milepost.engine.conversion import Ratio
from milepost.engine.velocity import Spread, Velocity

router = Router(tags=["analytics"])


class RatioOut(Schema):
    successes: int
    n: int
    value: float | None
    low: float | None
    high: float | None
    too_few: bool


class ScopeOut(Schema):
    process: str
    version: int | None
    date_from: date
    date_to: date


class CohortOut(Schema):
    stage: str
    label: str
    entered: int
    entered_amount: Decimal
    advanced: int
    won: int
    won_amount: Decimal
    lost: int
    open: int
    advance_rate: RatioOut
    win_rate: RatioOut
    median_days_to_advance: float | None
    median_days_to_win: float | None


class FunnelStepOut(Schema):
    stage: str
    label: str
    kind: str
    deals: int
    amount: Decimal
    of_created: RatioOut
    from_previous: RatioOut
    amount_of_created: float | None


class WinRateOut(Schema):
    won: int
    lost: int
    won_amount: Decimal
    lost_amount: Decimal
    by_count: RatioOut
    by_amount: float | None


class LeadFunnelOut(Schema):
    leads: int
    converted: int
    won: int
    lead_to_opportunity: RatioOut
    opportunity_to_won: RatioOut
    lead_to_won: RatioOut


class ConversionOut(Schema):
    scope: ScopeOut
    cohorts: list[CohortOut]
    funnel: list[FunnelStepOut]
    win_rate: WinRateOut
    leads: LeadFunnelOut


class SpreadOut(Schema):
    n: int
    median: float | None
    p80: float | None
    p95: float | None
    mean: float | None


class StageTimeOut(SpreadOut):
    stage: str
    label: str


class VelocityOut(Schema):
    date_from: date
    date_to: date
    open_deals: int
    win_rate: WinRateOut
    average_won_amount: Decimal | None
    won_cycle: SpreadOut
    lost_cycle: SpreadOut
    per_day: float | None


class VelocityReportOut(Schema):
    scope: ScopeOut
    time_in_stage: list[StageTimeOut]
    velocity: VelocityOut
    trend: list[VelocityOut]


class BarOut(Schema):
    key: str
    deals: int
    count: int
    amount: Decimal


class WaterfallOut(Schema):
    scope: ScopeOut
    scope_from: date
    scope_to: date
    bars: list[BarOut]
    reconciles: bool


def _ratio(r: Ratio) -> dict[str, Any]:
    return r.as_dict()


def _spread(s: Spread) -> dict[str, Any]:
    return {"n": s.n, "median": s.median, "p80": s.p80, "p95": s.p95, "mean": s.mean}


def _scope(filters: AnalyticsFilters, inputs: selectors.Inputs) -> dict[str, Any]:
    first, last = filters.period()
    version = inputs.stages.version
    return {
        "process": filters.process,
        "version": version.number if version is not None else None,
        "date_from": first,
        "date_to": last,
    }


def _win_rate(w: Any) -> dict[str, Any]:
    return {
        "won": w.won,
        "lost": w.lost,
        "won_amount": w.won_amount,
        "lost_amount": w.lost_amount,
        "by_count": _ratio(w.by_count),
        "by_amount": w.by_amount,
    }


def _velocity(v: Velocity) -> dict[str, Any]:
    return {
        "date_from": v.start.date(),
        "date_to": v.end.date(),
        "open_deals": v.open_deals,
        "win_rate": _win_rate(v.win_rate),
        "average_won_amount": v.average_won_amount,
        "won_cycle": _spread(v.won_cycle),
        "lost_cycle": _spread(v.lost_cycle),
        "per_day": v.per_day,
    }


@router.get("/analytics/conversion", response={200: ConversionOut, **ERRORS})
def conversion(request: HttpRequest, filters: Query[AnalyticsFilters]):
    """Cohort conversion by stage, the funnel from the first stage to won, the win rate of the
    deals closed in the period, and lead → opportunity → won, over the deals you may see."""
    report = selectors.conversion_report(user=request.auth, filters=filters)
    stages = report.inputs.stages
    return {
        "scope": _scope(filters, report.inputs),
        "cohorts": [
            {
                **{k: getattr(c, k) for k in CohortOut.model_fields if hasattr(c, k)},
                "label": stages.label(c.stage),
                "advance_rate": _ratio(c.advance_rate),
                "win_rate": _ratio(c.win_rate),
            }
            for c in report.cohorts
        ],
        "funnel": [
            {
                **{k: getattr(s, k) for k in FunnelStepOut.model_fields if hasattr(s, k)},
                "label": stages.label(s.stage),
                "of_created": _ratio(s.of_created),
                "from_previous": _ratio(s.from_previous),
            }
            for s in report.funnel
        ],
        "win_rate": _win_rate(report.win_rate),
        "leads": {
            "leads": report.leads.leads,
            "converted": report.leads.converted,
            "won": report.leads.won,
            "lead_to_opportunity": _ratio(report.leads.lead_to_opportunity),
            "opportunity_to_won": _ratio(report.leads.opportunity_to_won),
            "lead_to_won": _ratio(report.leads.lead_to_won),
        },
    }


@router.get("/analytics/velocity", response={200: VelocityReportOut, **ERRORS})
def velocity(request: HttpRequest, filters: Query[AnalyticsFilters]):
    """Time in each stage (median, p80, p95), sales cycle for won and lost deals, sales
    velocity with its factors, and its trend by month or quarter (``every``)."""
    report = selectors.velocity_report(user=request.auth, filters=filters)
    stages = report.inputs.stages
    return {
        "scope": _scope(filters, report.inputs),
        "time_in_stage": [
            {"stage": key, "label": stages.label(key), **_spread(s)}
            for key, s in report.time_in_stage.items()
        ],
        "velocity": _velocity(report.velocity),
        "trend": [_velocity(v) for v in report.trend],
    }


@router.get("/analytics/waterfall", response={200: WaterfallOut, **ERRORS})
def waterfall(request: HttpRequest, filters: Query[AnalyticsFilters]):
    """The pipeline waterfall over the period: opening, each flow and closing, by count and
    amount (opening + flows = closing). The pipeline is the open deals with a close date in
    ``scope_from`` .. ``scope_to`` (default: the period)."""
    report = selectors.waterfall_report(user=request.auth, filters=filters)
    scope_from, scope_to = filters.scope()
    w = report.waterfall
    return {
        "scope": _scope(filters, report.inputs),
        "scope_from": scope_from,
        "scope_to": scope_to,
        "bars": [
            {"key": b.key, "deals": b.deals, "count": b.count, "amount": b.amount} for b in w.bars
        ],
        "reconciles": w.reconciles,
    }


class EffectivenessScopeOut(ScopeOut):
    exits: int
    unrecorded: int
    left_out: int


class EffectivenessOut(Schema):
    """``criteria``, ``stages``, ``suggestions`` and ``settings`` are the engine's
    ``ProcessEffectiveness.as_json()`` (rates as fractions with their Wilson interval;
    differences as fractions with their Newcombe interval and a verdict); each suggestion adds
    ``text``, its message in the reader's language with formatted numbers, and each criterion
    ``verdict_text``, what its verdict means in words."""

    scope: EffectivenessScopeOut
    settings: dict[str, Any]
    criteria: list[dict[str, Any]]
    stages: list[dict[str, Any]]
    suggestions: list[dict[str, Any]]


@router.get("/analytics/effectiveness", response={200: EffectivenessOut, **ERRORS})
def effectiveness(request: HttpRequest, filters: Query[AnalyticsFilters]):
    """Process effectiveness over the deals you may see that were created in the period: per
    exit criterion the win rate met against not met at the exit, per stage loss, time in stage
    and skips, and ranked suggestions with the change each proposes (never applied). Exits
    without a recorded criteria result are counted as ``unrecorded``."""
    report = selectors.effectiveness_report(user=request.auth, filters=filters)
    first, last = filters.period()
    version = report.stages.version
    frames = report.frames
    scope = {
        "process": filters.process,
        "version": version.number if version is not None else None,
        "date_from": first,
        "date_to": last,
        "exits": frames.exits,
        "unrecorded": frames.unrecorded,
        "left_out": frames.left_out,
    }
    if report.result is None:
        return {"scope": scope, "settings": {}, "criteria": [], "stages": [], "suggestions": []}
    body = report.result.as_json()
    for shown, s in zip(body["suggestions"], report.result.suggestions, strict=True):
        shown["text"] = suggestion_text(s.kind, s.params)
    cfg = report.result.settings
    for shown, c in zip(body["criteria"], report.result.criteria, strict=True):
        comparison = c.comparison
        shown["verdict_text"] = verdict_text(
            comparison.verdict,
            n_with=comparison.with_.n,
            n_without=comparison.without.n,
            min_group=cfg.min_group,
            margin=cfg.margin,
        )
    return {
        "scope": scope,
        "settings": body["settings"],
        "criteria": body["criteria"],
        "stages": body["stages"],
        "suggestions": body["suggestions"],
    }
