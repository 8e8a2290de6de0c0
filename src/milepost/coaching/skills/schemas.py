"""Request and response shapes of the skills endpoints (ratings and the heat map)."""

from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import ConfigDict

from milepost.coaching.competencies.schemas import CompetencyOut


class RatingOut(Schema):
    id: int
    rep_id: int
    rater_id: int | None
    competency: str
    score: int
    observation: str
    is_self: bool
    session_id: int | None
    rated_at: datetime


class RatingIn(Schema):
    model_config = ConfigDict(extra="forbid")
    competency: str
    score: int
    observation: str = ""
    session_id: int | None = None


class HeatCellOut(Schema):
    competency: str
    score: int | None
    count: int


class HeatRowOut(Schema):
    rep_id: int
    rep: str
    cells: list[HeatCellOut]


class HeatMapOut(Schema):
    manager_id: int
    competencies: list[CompetencyOut]
    averages: list[float | None]
    rows: list[HeatRowOut]
