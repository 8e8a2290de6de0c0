"""Request and response building blocks every app's API shares.

Input schemas forbid unknown fields, so a typo (``amout``) is a 422 naming it rather than a
silent no-op. Every row-level endpoint declares the same error answers: 404 for a row the caller
may not see (or that does not exist), 422 for bad input naming the field, 409 for a stale version.
"""

from __future__ import annotations

from ninja import Field, Schema
from pydantic import ConfigDict


class StrictInput(Schema):
    """Base for request bodies: unknown fields are an error, not ignored."""

    model_config = ConfigDict(extra="forbid")


class PageQuery(Schema):
    """``limit`` is capped at ``settings.MILEPOST_API_PAGE_SIZE_MAX`` (the response says so)."""

    limit: int = Field(100, ge=1, description="Page size; capped at the server maximum")
    offset: int = Field(0, ge=0)


class ErrorOut(Schema):
    detail: str
    field: str = ""


class ConflictOut(Schema):
    detail: str
    current_version: int


ERRORS: dict[int, type[Schema]] = {404: ErrorOut, 422: ErrorOut}
WRITE_ERRORS: dict[int, type[Schema]] = {409: ConflictOut, **ERRORS}
