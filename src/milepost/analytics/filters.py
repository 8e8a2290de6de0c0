"""The one set of analytics filters, validated by one schema for the pages, the API and the CLI.

A page's query string, an API query and the command's options all become an
:class:`AnalyticsFilters`; so a bad period or amount band is refused with the same words
everywhere (a 422 naming the field in the API, the field's error on the page, a command error).
Who may see which deals is not a filter: the selectors apply the visibility rule whatever is
asked (a team or rep the asker may not see gives no deals).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal

from django.utils import timezone
from django.utils.translation import gettext
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from milepost.core.schemas import ID_MAX

DEFAULT_PROCESS = "new_business"
DEFAULT_DAYS = 365
MAX_DAYS = 366 * 5
MAX_AMOUNT = Decimal("999999999999.99")
FILTER_FIELDS = (
    "date_from",
    "date_to",
    "process",
    "version",
    "team",
    "rep",
    "product",
    "sector",
    "source",
    "amount_min",
    "amount_max",
    "every",
    "scope_from",
    "scope_to",
)


def _today() -> date:
    return timezone.now().astimezone(UTC).date()


class AnalyticsFilters(BaseModel):
    """What every analytic may be narrowed by.

    ``date_from`` .. ``date_to`` (inclusive, UTC days) is the period: the cohort's entry, the
    closes counted in a win rate, the visits and cycles ended, the waterfall's two moments
    (start of ``date_from``, end of ``date_to``). ``team`` is any manager or leader (their whole
    reporting line), ``rep`` one owner; ``amount_min`` .. ``amount_max`` the deal's current amount.
    ``scope_from`` .. ``scope_to``: the waterfall's close-date window (default: the period).
    """

    model_config = ConfigDict(extra="forbid")

    date_from: date | None = Field(
        None, description="First day of the period (default: a year ago)"
    )
    date_to: date | None = Field(
        None, description="Last day of the period (default: today)", validate_default=True
    )
    process: str = Field(DEFAULT_PROCESS, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")
    version: int | None = Field(None, ge=1, le=10_000, description="Process version number")
    team: int | None = Field(None, ge=1, le=ID_MAX, description="A manager's or leader's user id")
    rep: int | None = Field(None, ge=1, le=ID_MAX, description="An owner's user id")
    product: int | None = Field(None, ge=1, le=ID_MAX, description="Product id")
    sector: str | None = Field(None, max_length=64, description="Account sector")
    source: str | None = Field(None, max_length=64, description="Lead source of the deal")
    amount_min: Decimal | None = Field(None, ge=0, le=MAX_AMOUNT, decimal_places=2)
    amount_max: Decimal | None = Field(None, ge=0, le=MAX_AMOUNT, decimal_places=2)
    every: Literal["month", "quarter"] = Field("month", description="Trend buckets")
    scope_from: date | None = Field(None, description="Waterfall: close dates from")
    scope_to: date | None = Field(None, description="Waterfall: close dates to")

    @model_validator(mode="before")
    @classmethod
    def _blank_is_none(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: (None if v == "" else v) for k, v in data.items()}
        return data

    @field_validator("date_to", mode="after")
    @classmethod
    def _period(cls, value: date | None, info: ValidationInfo) -> date | None:
        last = value or _today()
        first = info.data.get("date_from") or last
        if first > last:
            raise ValueError(gettext("the period ends before it starts"))
        if (last - first).days > MAX_DAYS:
            raise ValueError(gettext("the period may span at most five years"))
        if first.year < 1990 or last.year > 2200:
            raise ValueError(gettext("the period is not a plausible date range"))
        return value

    @field_validator("amount_max", mode="after")
    @classmethod
    def _band(cls, value: Decimal | None, info: ValidationInfo) -> Decimal | None:
        low = info.data.get("amount_min")
        if value is not None and low is not None and low > value:
            raise ValueError(gettext("the amount band's maximum is below its minimum"))
        return value

    @field_validator("scope_to", mode="after")
    @classmethod
    def _scope(cls, value: date | None, info: ValidationInfo) -> date | None:
        low = info.data.get("scope_from")
        if value is not None and low is not None and low > value:
            raise ValueError(gettext("the close-date window ends before it starts"))
        return value

    def period(self) -> tuple[date, date]:
        """The period's first and last day (defaults filled in)."""
        last = self.date_to or _today()
        first = self.date_from or (last - timedelta(days=DEFAULT_DAYS - 1))
        return first, last

    def moments(self) -> tuple[datetime, datetime]:
        """The period as a half-open ``[start, end)`` of UTC moments."""
        first, last = self.period()
        start = datetime.combine(first, time.min, tzinfo=UTC)
        end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=UTC)
        return start, end

    def scope(self) -> tuple[date, date]:
        first, last = self.period()
        return self.scope_from or first, self.scope_to or last

    def query(self, **overrides: Any) -> dict[str, str]:
        """The filters as query-string values (only those set), for links and exports."""
        values = {**self.model_dump(exclude_defaults=True), **overrides}
        return {k: str(v) for k, v in values.items() if v is not None and v != ""}
