"""Request and response shapes of the snooze API (``/api/v1/inspection/snoozes``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from ninja import Field, Schema

from milepost.core.bounded import Text
from milepost.core.schemas import StrictInput
from milepost.inspection.schemas import SignalKey


class SnoozeIn(StrictInput):
    opportunity_id: int
    signal: SignalKey | Literal[""] = Field(
        "", description="One signal to snooze; empty snoozes the whole deal"
    )
    reason: Text(500, required=True) = Field(..., description="Why the stall is known")  # type: ignore[valid-type]
    until: date = Field(..., description="Last day the snooze applies (UTC), at most 180 ahead")


class SnoozeEndIn(StrictInput):
    version: int = Field(..., description="The snooze version you read; stale → 409")


class SnoozeQuery(Schema):
    opportunity: int | None = Field(None, description="Only this deal's snoozes")
    state: Literal["active", "inactive", "all"] = Field(
        "active", description="Applying now (default), ended or expired, or all"
    )


class SnoozeEventOut(Schema):
    action: str
    actor_id: int | None
    at: datetime


class SnoozeOut(Schema):
    id: int
    opportunity_id: int
    signal: str = Field(..., description="Empty: the whole deal")
    reason: str
    until: date
    created_by_id: int | None
    created_at: datetime
    ended_by_id: int | None
    ended_at: datetime | None
    active: bool
    version: int


class SnoozeDetailOut(SnoozeOut):
    history: list[SnoozeEventOut]


class SnoozeListOut(Schema):
    items: list[SnoozeOut]
