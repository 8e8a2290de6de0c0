"""Request and response shapes of the inspection API (``/api/v1/inspection/...``).

Amounts are numbers here (the inspection ranks deals with floats; the opportunity endpoints
carry the exact decimal), signal keys are those of :data:`milepost.engine.signals.SIGNAL_LABELS`.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from ninja import Field, Schema

from milepost.core.schemas import PageQuery
from milepost.engine.process_schema import SignalName

SignalKey = SignalName  # one list of signals: the process file's
Period = Literal["this_month", "this_quarter", "next_quarter", "overdue"]


class SummaryQuery(Schema):
    stage: str | None = Field(None, description="Stage key, e.g. discover")
    period: Period | None = Field(None, description="A named close period")
    close_from: date | None = None
    close_to: date | None = None


class DealQuery(PageQuery, SummaryQuery):
    rep: int | None = Field(None, description="Owner's user id")
    signal: SignalKey | None = None
    under_control: Literal["no", "yes", "all"] = Field(
        "no", description="By default only the deals not under control"
    )
    flagged: bool = Field(False, description="Only deals with at least one signal")
    snoozed: Literal["no", "yes", "all"] = Field(
        "no", description="By default snoozed deals are left out; yes: only them"
    )


class SignalOut(Schema):
    signal: str
    label: str
    weight: int = Field(..., description="Points in the process file (the fallback model's)")
    contribution: float = Field(
        0.0, description="Log-odds this signal adds to the risk (the model's coefficient, >= 0)"
    )
    reason: str


class DealOut(Schema):
    opportunity_id: int
    name: str
    owner_id: int
    process_version_id: int
    stage_key: str
    verified_stage: str
    under_control: bool
    first_gap: str | None
    unmet_before: int
    amount: float
    currency: str
    close_date: date
    risk: int = Field(..., description="Chance of being lost or slipping, as a whole percent")
    risk_probability: float = Field(..., description="The same chance, 0-1")
    risk_text: str = Field(..., description="The chance in words, with the top signals")
    priority: float = Field(..., description="Money at risk: amount x risk_probability")
    signals: list[SignalOut]
    snoozed: bool = Field(False, description="The whole deal is snoozed (see /inspection/snoozes)")


class DealPage(Schema):
    items: list[DealOut]
    count: int = Field(..., description="Total deals matching the filters")
    limit: int
    offset: int


class CriterionOut(Schema):
    id: str
    statement: str
    status: str
    reason: str
    how: list[str] = Field(
        default_factory=list,
        description="How it is met: rule, score (a methodology rule), evidence",
    )
    by: str = Field("", description="By whom (see the criteria endpoint of a deal)")
    self_assessed: bool = Field(False, description="Only the rep's own word stands behind it")


class StageCriteriaOut(Schema):
    key: str
    label: str
    position: int
    all_met: bool
    criteria: list[CriterionOut]


class ExplanationOut(Schema):
    opportunity_id: int
    name: str
    owner_id: int
    claimed_stage: str
    verified_stage: str
    under_control: bool
    first_gap: str | None
    risk: int = Field(..., description="Chance of being lost or slipping, as a whole percent")
    risk_probability: float = Field(..., description="The same chance, 0-1")
    risk_text: str = Field(..., description="The chance in words, with the top signals")
    signals: list[SignalOut]
    unmet: list[str] = Field(..., description="Criteria not met up to the claimed stage")
    next_actions: list[str]
    stages: list[StageCriteriaOut]


class RepSummaryOut(Schema):
    rep_id: int
    rep_name: str
    deals: int
    under_control: int
    not_under_control: int
    signals: dict[str, int] = Field(..., description="Deals per signal key")


class SignalLabelOut(Schema):
    key: str
    label: str


class SummaryOut(Schema):
    signals: list[SignalLabelOut]
    reps: list[RepSummaryOut]
