"""Request and response building blocks every app's API shares.

Input schemas forbid unknown fields, so a typo (``amout``) is a 422 naming it rather than a
silent no-op. Every row-level endpoint declares the same error answers: 404 for a row the caller
may not see (or that does not exist), 422 for bad input naming the field, 409 for a stale version.
"""

from __future__ import annotations

from typing import Annotated, Any

from django.utils.translation import gettext
from ninja import Field, Schema
from pydantic import ConfigDict, field_validator

# A row id as a client may send it: both databases store ids as signed 64-bit integers, and a
# larger number made the ORM raise (a 500) instead of finding nothing.
ID_MAX = 2**63 - 1
RowId = Annotated[int, Field(ge=1, le=ID_MAX)]
# No list is that long; a larger offset is a mistake, answered 422 rather than an overflow.
OFFSET_MAX = 10**9


def _has_lone_surrogate(value: Any) -> bool:
    """Whether ``value`` (a string, or a list/dict holding strings) has an unpaired surrogate.

    JSON may spell one (``"\\ud800"``) and ``json.loads`` accepts it, but it is no character:
    PostgreSQL refuses it and encoding it to UTF-8 raises, so it used to surface as a 500.
    """
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return any(_has_lone_surrogate(v) for v in value)
    return False


class StrictInput(Schema):
    """Base for request bodies: unknown fields are an error, not ignored, and every string must
    be valid Unicode (a lone surrogate is a 422 naming the field)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _no_lone_surrogates(cls, value: Any) -> Any:
        if _has_lone_surrogate(value):
            raise ValueError(gettext("contains an unpaired surrogate (not valid Unicode)"))
        return value


class PageQuery(Schema):
    """``limit`` is capped at ``settings.MILEPOST_API_PAGE_SIZE_MAX`` (the response says so)."""

    limit: int = Field(100, ge=1, description="Page size; capped at the server maximum")
    offset: int = Field(0, ge=0, le=OFFSET_MAX)


class ErrorOut(Schema):
    detail: str
    field: str = ""


class ValidationIssue(Schema):
    """One schema-validation problem, as pydantic reports it."""

    type: str
    loc: list[str | int]
    msg: str


class InvalidOut(Schema):
    """A 422: a message (a refused change) or, for input that fails the schema, the list of
    problems; ``field`` always names the first offending field."""

    detail: str | list[ValidationIssue]
    field: str = ""


class ConflictOut(Schema):
    detail: str
    current_version: int


ERRORS: dict[int, type[Schema]] = {404: ErrorOut, 422: InvalidOut}
WRITE_ERRORS: dict[int, type[Schema]] = {409: ConflictOut, **ERRORS}
