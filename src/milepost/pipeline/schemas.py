"""Request and response shapes of the pipeline API (``/api/v1/``).

Input schemas forbid unknown fields, so a typo (``amout``) is a 422 naming it rather than a
silent no-op. Money is a decimal string in JSON (``"1200.50"``) with an ISO currency; datetimes
are ISO 8601 with a timezone. Outputs are built from model instances (``from_attributes``).

The input schemas the pages share (``AccountIn``, ``ContactIn``, ``OpportunityContactIn``,
``ActivityIn``) live in ``accounts.validation`` and ``pipeline.activity_validation``, so a form
and the API refuse the same input; they are re-exported here.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from ninja import Field, Schema

from milepost.accounts.validation import AccountIn, ContactIn
from milepost.core.schemas import PageQuery, RowId, StrictInput
from milepost.pipeline import validation as v
from milepost.pipeline.activity_validation import ActivityIn, OpportunityContactIn
from milepost.process.models import ForecastCategory

# --- lists ---------------------------------------------------------------------------------


OpportunityOrdering = Literal[
    "close_date",
    "-close_date",
    "amount",
    "-amount",
    "name",
    "-name",
    "created_at",
    "-created_at",
    "updated_at",
    "-updated_at",
    "stage",
    "-stage",
]


class OpportunityQuery(PageQuery):
    owner_id: int | None = None
    team_of: int | None = Field(None, description="A manager's id: deals of their whole team")
    process: str | None = Field(None, description="Process key, e.g. new_business")
    stage: str | None = Field(None, description="Stage key, e.g. discover")
    status: Literal["open", "won", "lost", "all"] = "open"
    forecast_category: ForecastCategory | None = None
    close_from: date | None = None
    close_to: date | None = None
    q: str | None = Field(None, description="Name, account name or exact external id")
    account_id: int | None = None
    ordering: OpportunityOrdering = "close_date"


class AccountQuery(PageQuery):
    q: str | None = Field(None, description="Part of the account name")


class ContactQuery(PageQuery):
    account_id: int | None = None
    q: str | None = Field(None, description="Part of the name or e-mail")


# --- opportunities -------------------------------------------------------------------------


class DealStageOut(Schema):
    id: int
    key: str
    label: str
    kind: str
    position: int


class OpportunityOut(Schema):
    id: int
    version: int
    name: str
    external_id: str | None
    account_id: int | None
    account_name: str | None = None
    owner_id: int
    process: str = Field(..., alias="stage.version.process.key")
    stage: DealStageOut
    stage_entered_at: datetime
    amount: Decimal
    currency: str
    close_date: date
    forecast_category: str
    probability: int
    probability_overridden: bool
    next_step: str
    next_step_date: date | None
    source: str
    lost_reason: str
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None

    @staticmethod
    def resolve_account_name(obj) -> str | None:  # type: ignore[no-untyped-def]
        return obj.account.name if obj.account_id else None


class OpportunityPage(Schema):
    items: list[OpportunityOut]
    count: int = Field(..., description="Total rows matching the filters")
    limit: int
    offset: int


class OpportunityWriteOut(OpportunityOut):
    """A deal just written, with what was allowed but looks wrong (a close date past)."""

    warnings: list[str] = Field(default_factory=list)


class OpportunityCreateIn(StrictInput):
    """Bounds come from :class:`milepost.pipeline.validation.DealFields`: values past them are
    refused (422 naming the field), never cut or rounded."""

    name: v.DealName
    amount: v.Amount
    close_date: v.DealDate
    process_key: str = Field("new_business", max_length=64)
    stage_key: str | None = Field(
        None,
        max_length=64,
        description="Default: the first open stage. A later stage passes the stage gate",
    )
    justification: str = Field(
        "",
        max_length=1000,
        description="Why the deal starts past unmet exit criteria (needed under a 'warn' gate)",
    )
    account_id: RowId | None = None
    owner_id: RowId | None = Field(None, description="Default: yourself")
    currency: v.Currency = "USD"
    forecast_category: ForecastCategory | None = Field(None, description="Default: the stage's")
    probability: v.Probability | None = Field(None, description="0-100 overrides the stage default")
    next_step: v.NextStep = ""
    next_step_date: v.DealDate | None = None
    source: v.Source = ""


class OpportunityPatchIn(StrictInput):
    """Only the fields sent are changed. ``version`` is the one you read (optimistic lock)."""

    version: int = Field(..., ge=1, description="The version you read; stale → 409")
    name: v.DealName | None = None
    amount: v.Amount | None = None
    currency: v.Currency | None = None
    close_date: v.DealDate | None = None
    forecast_category: ForecastCategory | None = None
    probability: v.Probability | None = Field(
        None, description="0-100 overrides the stage default; null returns to it"
    )
    next_step: v.NextStep | None = None
    next_step_date: v.DealDate | None = None
    source: v.Source | None = None
    lost_reason: v.LostReason | None = None
    account_id: RowId | None = None
    owner_id: RowId | None = None


class MoveIn(StrictInput):
    stage: int | str = Field(..., description="Target stage: its key (discover) or its id")
    version: int = Field(..., description="The version you read; missing → 422, stale → 409")
    note: str = ""
    lost_reason: str = ""
    justification: str = Field(
        "",
        max_length=1000,
        description="Why the deal moves past unmet exit criteria (needed under a 'warn' gate)",
    )


class ArchiveIn(StrictInput):
    version: int = Field(..., description="The version you read; missing → 422, stale → 409")


class ArchiveOut(Schema):
    """A deal archived or restored: its new version and archive stamp."""

    id: int
    version: int
    archived_at: datetime | None
    archived_by_id: int | None


class TransitionOut(Schema):
    id: int
    from_stage: str | None = None
    to_stage: str = Field(..., alias="to_stage.key")
    moved_at: datetime
    moved_by_id: int | None
    amount: Decimal
    currency: str
    close_date: date
    seconds_in_from_stage: int | None
    source: str
    note: str
    criteria_result: dict | list | None

    @staticmethod
    def resolve_from_stage(obj) -> str | None:  # type: ignore[no-untyped-def]
        return obj.from_stage.key if obj.from_stage_id else None


class MoveOut(Schema):
    opportunity: OpportunityOut
    transition: TransitionOut


# --- contacts on a deal, activities --------------------------------------------------------


class ContactOut(Schema):
    id: int
    account_id: int
    first_name: str
    last_name: str
    title: str
    email: str
    phone: str
    created_at: datetime


class OpportunityContactOut(Schema):
    id: int
    contact: ContactOut
    buying_role: str
    notes: str
    added_at: datetime
    version: int


class ActivityOut(Schema):
    id: int
    type: str
    occurred_at: datetime
    owner_id: int
    subject: str
    outcome: str
    contact_ids: list[int]
    created_at: datetime
    version: int

    @staticmethod
    def resolve_contact_ids(obj) -> list[int]:  # type: ignore[no-untyped-def]
        return sorted(c.pk for c in obj.contacts.all())  # prefetched by the selector


# --- accounts and contacts -----------------------------------------------------------------


class AccountOut(Schema):
    id: int
    name: str
    sector: str
    year_established: int | None
    annual_revenue_musd: Decimal | None
    employees: int | None
    headquarters: str
    parent_id: int | None
    owner_id: int | None
    archived_at: datetime | None = Field(None, description="Set when an admin archived it")
    created_at: datetime
    updated_at: datetime


class AccountPage(Schema):
    items: list[AccountOut]
    count: int
    limit: int
    offset: int


class ContactPage(Schema):
    items: list[ContactOut]
    count: int
    limit: int
    offset: int


__all__ = ["AccountIn", "ActivityIn", "ContactIn", "OpportunityContactIn"]
