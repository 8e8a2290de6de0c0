"""Response shapes of the agenda draft preview (``/api/v1/coaching/reps/{id}/agenda-draft``)."""

from __future__ import annotations

from datetime import date, datetime

from ninja import Schema


class DealItemOut(Schema):
    opportunity_id: int
    title: str
    priority: float
    reasons: list[str]
    questions: list[str]
    stage_key: str
    stage_label: str
    amount: str
    risk: int
    close_date: date | None
    closeness: float
    unverified: list[str]
    signals: list[str]


class SkillItemOut(Schema):
    indicator: str
    title: str
    competencies: list[str]
    focus: str
    rep_rate: float
    team_rate: float
    rep_hits: int
    rep_deals: int
    team_hits: int
    team_deals: int
    z: float
    example_deal_ids: list[int]


class CarryItemOut(Schema):
    action_id: int
    title: str
    overdue: bool
    days_overdue: int
    due_date: date | None
    owner_id: int | None
    opportunity_id: int | None
    competency: str


class AgendaDraftOut(Schema):
    rep_id: int
    as_of: datetime
    period_end: date
    deal_items: list[DealItemOut]
    skill_items: list[SkillItemOut]
    carry_over: list[CarryItemOut]
