"""Request and response building blocks every app's API shares.

Input schemas forbid unknown fields, so a typo (``amout``) is a 422 naming it rather than a
silent no-op. Every row-level endpoint declares the same error answers: 404 for a row the caller
may not see (or that does not exist), 422 for bad input naming the field, 409 for a stale version.
"""

from __future__ import annotations

from typing import Annotated

from ninja import Field, Schema
from pydantic import ConfigDict

# A row id as a client may send it: both databases store ids as signed 64-bit integers, and a
# larger number made the ORM raise (a 500) instead of finding nothing.
ID_MAX = 2**63 - 1
RowId = Annotated[int, Field(ge=1, le=ID_MAX)]
# No list is that long; a larger offset is a mistake, answered 422 rather than an overflow.
OFFSET_MAX = 10**9


class StrictInput(Schema):
    """Base for request bodies: unknown fields are an error, not ignored."""

    model_config = ConfigDict(extra="forbid")


class PageQuery(Schema):
    """``limit`` is capped at ``settings.MILEPOST_API_PAGE_SIZE_MAX`` (the response says so)."""

    limit: int = Field(100, ge=1, description="Page size; capped at the server maximum")
    offset: int = Field(0, ge=0, le=OFFSET_MAX)


class ErrorOut(Schema):
    detail: str
    field: str = ""


class ConflictOut(Schema):
    detail: str
    current_version: int


ERRORS: dict[int, type[Schema]] = {404: ErrorOut, 422: ErrorOut}
WRITE_ERRORS: dict[int, type[Schema]] = {409: ConflictOut, **ERRORS}
