"""Response and query shapes of the leader endpoints (routine, effect, weekly digest)."""

from __future__ import annotations

from datetime import date

from ninja import Schema
from pydantic import Field

from milepost.coaching.leaders.selectors import (
    DEFAULT_TOP_N,
    DEFAULT_WEEKS,
    EFFECT_WEEKS,
    FOLLOW_DAYS,
    MAX_WEEKS,
)


class PersonOut(Schema):
    id: int
    name: str


class ManagerRowOut(Schema):
    manager: PersonOut
    reps: int
    sessions_done: int
    sessions_expected: int
    cadence_kept: float | None
    top_deals: int
    top_covered: int
    covered_share: float | None
    actions_on_time: int
    actions_late: int
    actions_overdue: int
    on_time_share: float | None
    reps_without_session: list[PersonOut]


class OverviewOut(Schema):
    weeks: int
    window_start: date
    window_end: date
    top_n: int
    managers: list[ManagerRowOut]


class OverviewQuery(Schema):
    weeks: int = Field(DEFAULT_WEEKS, ge=1, le=MAX_WEEKS)
    top: int = Field(DEFAULT_TOP_N, ge=1, le=100)


class ArmOut(Schema):
    exposures: int
    deals: int
    criteria_met: int
    with_any: int
    per_deal: float
    share_with_any: float


class CompetencyEffectOut(Schema):
    rep: PersonOut
    competency: str
    coached_on: date
    indicators: list[str]
    before_rate: float | None
    after_rate: float | None
    before_deals: int
    after_deals: int
    team_before_rate: float | None
    team_after_rate: float | None


class EffectOut(Schema):
    manager: PersonOut
    weeks: int
    follow_days: int
    caveat: str
    discussed: ArmOut
    similar: ArmOut
    strata: int
    unmatched: int
    censored: int
    competencies: list[CompetencyEffectOut]


class EffectQuery(Schema):
    weeks: int = Field(EFFECT_WEEKS, ge=2, le=MAX_WEEKS)
    follow: int = Field(FOLLOW_DAYS, ge=1, le=60)


class SlippedOut(Schema):
    opportunity_id: int
    name: str
    owner: PersonOut
    reasons: list[str]


class DueOut(Schema):
    rep: PersonOut
    last_session: date | None
    every_weeks: int
    has_cadence: bool


class OverdueOut(Schema):
    id: int
    title: str
    owner: PersonOut
    due_date: date
    opportunity_id: int | None


class DigestOut(Schema):
    manager: PersonOut
    week_start: date
    slipped: list[SlippedOut]
    due: list[DueOut]
    overdue: list[OverdueOut]


class DigestQuery(Schema):
    manager: int | None = None
    week: date | None = None
