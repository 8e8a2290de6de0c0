"""The one validation of buying-role and activity input, used by the API and the deal page.

Bounds: text longer than it may be is refused (never truncated), NUL bytes and lone surrogates
are refused, an activity's time carries a timezone and lies in a plausible window (not before
:data:`OCCURRED_FROM`, not more than :data:`FUTURE_SLACK` ahead: an activity is logged once it
happened). That a contact belongs to the deal's account needs the database and stays in
:mod:`milepost.pipeline.services`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext
from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from milepost.accounts.validation import ContactFields
from milepost.core.bounded import Text
from milepost.core.schemas import RowId, StrictInput
from milepost.pipeline.choices import ActivityType, BuyingRole

OCCURRED_FROM = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)  # clocks and time zones; a plan is a next step, not an activity
CONTACTS_MAX = 50

RoleNotes = Text(2000)
Subject = Text(200, required=True)
Outcome = Text(5000)


class OpportunityContactIn(StrictInput):
    """An existing contact of the deal's account, in a buying role."""

    contact_id: RowId
    buying_role: BuyingRole
    notes: RoleNotes = ""


class OpportunityNewContactIn(ContactFields):
    """A new contact of the deal's account, given a buying role in the same step."""

    buying_role: BuyingRole
    notes: RoleNotes = ""


class OpportunityContactEditIn(StrictInput):
    """A changed role (or notes) of one contact on a deal; ``version`` is the one read."""

    buying_role: BuyingRole
    notes: RoleNotes = ""
    version: int = Field(..., ge=1, description="The role's version you read (stale: 409)")


class ActivityIn(StrictInput):
    """Something done with the buyer, logged on a deal."""

    type: ActivityType
    subject: Subject
    occurred_at: datetime | None = Field(None, description="Default: now; needs a timezone")
    outcome: Outcome = ""
    contact_ids: list[RowId] = Field(default_factory=list, max_length=CONTACTS_MAX)

    @field_validator("occurred_at")
    @classmethod
    def _plausible(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if timezone.is_naive(value):
            raise PydanticCustomError("naive_datetime", gettext("needs a timezone (e.g. ...Z)"))
        if value < OCCURRED_FROM:
            raise PydanticCustomError("too_early", gettext("is before 2000"))
        if value > timezone.now() + FUTURE_SLACK:
            raise PydanticCustomError(
                "in_future", gettext("is in the future; log an activity once it happened")
            )
        return value


class ActivityEditIn(ActivityIn):
    """An edited activity; ``version`` is the one read (stale: 409)."""

    version: int = Field(..., ge=1, description="The activity's version you read (stale: 409)")
