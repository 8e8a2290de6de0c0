"""The one definition of what a deal's fields may hold, shared by the API, the pages and services.

:class:`DealFields` is a Pydantic model whose fields are the bounds: the API's input schemas
reuse its field types (so a bad value is a 422 naming the field before any handler runs), the
deal forms call :func:`clean_deal_fields` (so a page shows the same message next to the field),
and the pipeline services call it before writing (so nothing reaches the database that a page
could not read back). Values past a bound are *refused*, never cut or rounded: a name that would
lose its end or an amount that would lose a cent is the client's mistake to fix, not ours to
hide.

What is a warning rather than an error (a close date already past) is :func:`deal_warnings`.
Relations (account, owner, stage) are not here: whether a user may pick them is a permission
question the services answer.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from babel.numbers import list_currencies
from django.utils import timezone
from django.utils.translation import gettext
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from milepost.core.bounded import storable
from milepost.core.errors import InvalidChange
from milepost.pipeline.models import Opportunity
from milepost.process.models import ForecastCategory

_AMOUNT_FIELD = Opportunity._meta.get_field("amount")
# The column's size: past it PostgreSQL refuses the row and SQLite stores a value no page can
# read back.
AMOUNT_LIMIT = Decimal(10) ** (_AMOUNT_FIELD.max_digits - _AMOUNT_FIELD.decimal_places)  # type: ignore[attr-defined]
AMOUNT_PLACES: int = _AMOUNT_FIELD.decimal_places  # type: ignore[attr-defined]
AMOUNT_MAX = AMOUNT_LIMIT - Decimal(1).scaleb(-AMOUNT_PLACES)

# Dates a deal may carry: before 2000 or more than ten years ahead is a typo (a year 0202 or
# 20260), and far dates break period maths on pages that bucket by month.
DATE_MIN = date(2000, 1, 1)
DATE_YEARS_AHEAD = 10

# ISO 4217 codes CLDR knows, without the "no currency" and testing codes.
CURRENCIES: frozenset[str] = frozenset(list_currencies()) - {"XXX", "XTS"}


def _length(field: str) -> int:
    return Opportunity._meta.get_field(field).max_length  # type: ignore[return-value]


NAME_MAX = _length("name")
NEXT_STEP_MAX = _length("next_step")
SOURCE_MAX = _length("source")
LOST_REASON_MAX = _length("lost_reason")


def date_max(today: date | None = None) -> date:
    """The latest date a deal may carry (today plus ten years, 28 Feb for a 29 Feb today)."""
    today = today or timezone.localdate()
    try:
        return today.replace(year=today.year + DATE_YEARS_AHEAD)
    except ValueError:
        return today.replace(year=today.year + DATE_YEARS_AHEAD, day=28)


def _error(message: str) -> PydanticCustomError:
    return PydanticCustomError("deal_value", message)


def _text(max_length: int, *, required: bool = False):  # type: ignore[no-untyped-def]
    """A validator for a text field: trimmed, no NUL or lone surrogate, within its column."""

    def check(value: str) -> str:
        value = storable(value).strip()
        if required and not value:
            raise _error(gettext("cannot be empty"))
        if len(value) > max_length:
            raise _error(
                gettext("is longer than %(max)s characters (%(length)s)")
                % {"max": max_length, "length": len(value)}
            )
        return value

    return AfterValidator(check)


def _in_window(value: date) -> date:
    latest = date_max()
    if not DATE_MIN <= value <= latest:
        raise _error(
            gettext("must be between %(first)s and %(last)s")
            % {"first": DATE_MIN.isoformat(), "last": latest.isoformat()}
        )
    return value


def _amount(value: Decimal) -> Decimal:
    # "-0" passes ge=0; store it as 0.00, and give every amount the column's two places.
    return value.quantize(Decimal(1).scaleb(-AMOUNT_PLACES)) + Decimal(0)


def _currency(value: str) -> str:
    code = value.strip().upper()
    if code not in CURRENCIES:
        raise _error(gettext("%(value)r is not an ISO 4217 currency code") % {"value": value})
    return code


DealName = Annotated[str, _text(NAME_MAX, required=True)]
NextStep = Annotated[str, _text(NEXT_STEP_MAX)]
Source = Annotated[str, _text(SOURCE_MAX)]
LostReason = Annotated[str, _text(LOST_REASON_MAX)]
Amount = Annotated[
    Decimal,
    Field(ge=0, lt=AMOUNT_LIMIT, decimal_places=AMOUNT_PLACES, allow_inf_nan=False),
    AfterValidator(_amount),
]
Currency = Annotated[str, AfterValidator(_currency)]
DealDate = Annotated[date, AfterValidator(_in_window)]
Probability = Annotated[int, Field(ge=0, le=100)]


class DealFields(BaseModel):
    """Every plain field of a deal a person may set; each optional so a change names only some.

    ``None`` means "not given" except for ``next_step_date`` and ``probability``, where it is a
    value (no date; back to the stage default): :func:`clean_deal_fields` keeps exactly the
    keys it was given.
    """

    model_config = ConfigDict(extra="forbid")

    name: DealName | None = None
    amount: Amount | None = None
    currency: Currency | None = None
    close_date: DealDate | None = None
    forecast_category: ForecastCategory | None = None
    probability: Probability | None = None
    next_step: NextStep | None = None
    next_step_date: DealDate | None = None
    source: Source | None = None
    lost_reason: LostReason | None = None


# Fields where None is not a value a deal can hold: refusing it here keeps a NULL from the API
# (``{"name": null}``) from reaching a NOT NULL column.
_NOT_NULL = frozenset({"name", "amount", "currency", "close_date", "forecast_category"})
_BLANK_IF_NULL = frozenset({"next_step", "source", "lost_reason"})


def error_field_and_message(error: ValidationError) -> tuple[str, str]:
    """The field and a readable message of a Pydantic error's first problem."""
    first = error.errors(include_url=False)[0]
    names = [p for p in first.get("loc", ()) if isinstance(p, str)]
    field = names[-1] if names else ""
    label = field.replace("_", " ")
    return field, f"{label} {first['msg']}" if field else first["msg"]


def clean_deal_fields(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` checked against :class:`DealFields`, with exactly the keys given.

    Raises :class:`InvalidChange` naming the first bad field; an empty string for an optional
    date means no date.
    """
    given = dict(values)
    for key in ("next_step_date",):
        if given.get(key) == "":
            given[key] = None
    for key in _NOT_NULL & given.keys():
        if given[key] is None or given[key] == "":
            label = key.replace("_", " ")
            raise InvalidChange(f"{label} is required", field=key)
    try:
        model = DealFields.model_validate(given)
    except ValidationError as error:
        field, message = error_field_and_message(error)
        raise InvalidChange(message, field=field) from None
    clean = {key: getattr(model, key) for key in given}
    for key in _BLANK_IF_NULL & clean.keys():
        if clean[key] is None:
            clean[key] = ""
    return clean


def deal_warnings(
    values: dict[str, Any], *, is_open: bool = True, today: date | None = None
) -> list[str]:
    """What is allowed but probably wrong in ``values`` (already clean): said, not refused."""
    today = today or timezone.localdate()
    warnings: list[str] = []
    close = values.get("close_date")
    if is_open and isinstance(close, date) and close < today:
        days = (today - close).days
        warnings.append(
            f"The close date {close.isoformat()} is {days} day{'s' if days != 1 else ''} in "
            "the past; an open deal should close in the future."
        )
    step_date = values.get("next_step_date")
    if is_open and isinstance(step_date, date) and step_date < today:
        warnings.append(f"The next step's date {step_date.isoformat()} is in the past.")
    return warnings
