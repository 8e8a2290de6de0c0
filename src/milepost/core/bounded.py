"""Bounded input types for request schemas: text that is refused, never truncated.

A value past a column's size, a NUL byte (PostgreSQL cannot store one in text) or a lone
surrogate (not encodable as UTF-8) used to reach the database and fail there (a 500) or be cut
short; these types refuse it while validating, naming the field, before any service runs.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from django.utils.translation import gettext
from pydantic import AfterValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(value: str) -> str:
    """``value`` unchanged, or an error when it holds a NUL byte or a lone surrogate."""
    if _UNSTORABLE.search(value):
        raise PydanticCustomError(
            "unstorable_text", gettext("contains a NUL byte or an invalid character")
        )
    return value


def Text(max_length: int, *, required: bool = False) -> Any:
    """A string stripped of surrounding blanks, at most ``max_length`` characters after that.

    ``required`` refuses an empty (or all-blank) value. The JSON schema keeps ``maxLength`` so
    API clients see the bound.
    """

    def check(value: str) -> str:
        text = storable(value).strip()
        if required and not text:
            raise PydanticCustomError("text_empty", gettext("cannot be empty"))
        if len(text) > max_length:
            raise PydanticCustomError(
                "text_too_long",
                gettext("is {length} characters long; the most is {max_length}"),
                {"length": len(text), "max_length": max_length},
            )
        return text

    schema: dict[str, Any] = {"type": "string", "maxLength": max_length}
    if required:
        schema["minLength"] = 1
    return Annotated[str, AfterValidator(check), WithJsonSchema(schema)]
