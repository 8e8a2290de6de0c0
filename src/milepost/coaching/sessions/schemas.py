"""Request and response shapes of the 1:1 coaching API (``/api/v1/coaching/``).

Inputs forbid unknown fields; writes on a session or an action item carry the ``version`` the
client read (a stale one is a 409).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any, Literal

from ninja import Field, Schema

from milepost.core.schemas import StrictInput


class AgendaItemOut(Schema):
    id: int
    position: int
    kind: str = Field(..., description="deal, skill, carry_over or custom")
    title: str
    opportunity_id: int | None
    competency: str
    action_item_id: int | None
    detail: dict[str, Any] = Field(..., description="What the item was generated from, frozen")
    discussed: bool
    notes: str
    decision: str


class ActionItemOut(Schema):
    id: int
    session_id: int
    owner_id: int
    title: str
    due_date: date
    opportunity_id: int | None
    competency: str
    status: str = Field(..., description="open, done or dropped")
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


class SessionOut(Schema):
    id: int
    manager_id: int
    rep_id: int
    cadence_id: int | None
    scheduled_for: datetime
    duration_minutes: int
    status: str = Field(..., description="draft, in_progress, completed or cancelled")
    started_at: datetime | None
    completed_at: datetime | None
    notes: str
    decisions: str
    generated_at: datetime | None
    version: int


class SessionDetailOut(SessionOut):
    items: list[AgendaItemOut]
    action_items: list[ActionItemOut]


class SessionIn(StrictInput):
    rep_id: int
    scheduled_for: datetime = Field(..., description="With its time zone")
    duration_minutes: int = 30
    generate: bool = Field(True, description="Draft the agenda from the pipeline")


class SessionPatch(StrictInput):
    version: int
    notes: str | None = None
    decisions: str | None = None
    scheduled_for: datetime | None = None
    duration_minutes: int | None = None


class VersionIn(StrictInput):
    version: int


class ItemIn(StrictInput):
    version: int
    title: str


class ItemPatch(StrictInput):
    version: int
    title: str | None = None
    notes: str | None = None
    decision: str | None = None
    discussed: bool | None = None


class ItemMoveIn(StrictInput):
    version: int
    direction: Literal["up", "down"]


class ActionIn(StrictInput):
    title: str
    due_date: date
    owner_id: int
    opportunity_id: int | None = None
    competency: str = ""


class ActionPatch(StrictInput):
    version: int
    title: str | None = None
    due_date: date | None = None
    owner_id: int | None = None
    competency: str | None = None


class ActionStatusIn(StrictInput):
    version: int
    status: Literal["open", "done", "dropped"]


class CadenceIn(StrictInput):
    every_weeks: int = 1
    weekday: int = Field(1, description="0 = Monday")
    time_of_day: time
    duration_minutes: int = 30
    timezone: str = "UTC"
    starts_on: date
    version: int | None = None


class CadenceOut(Schema):
    id: int
    manager_id: int
    rep_id: int
    every_weeks: int
    weekday: int
    time_of_day: time
    duration_minutes: int
    timezone: str
    starts_on: date
    active: bool
    version: int
    next_meetings: list[datetime] = Field(default_factory=list)
