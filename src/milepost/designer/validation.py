"""A draft checked by the CLI's validator, with every problem placed at a designer field.

A draft may be invalid while it is worked on. :func:`draft_problems` runs the same validator as
``milepost process load`` (YAML parse, :class:`ProcessDef`, the methodology pack check of
``process_store``) and :func:`error_target` says which stage, criterion and field each problem
belongs to, so the pages show it at the field. Nothing here reads or writes the database
except the pack check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from milepost.engine.process_export import export_process
from milepost.engine.process_schema import (
    ProcessDef,
    ProcessError,
    ProcessInvalid,
    parse_process,
)
from milepost.process.services import check_against_packs


def document_yaml(document: Any) -> str:
    """The draft as YAML text (what "edit as YAML" shows): canonical when the draft is valid."""
    try:
        return export_process(ProcessDef.model_validate(document))
    except Exception:  # an invalid draft is shown as it is stored
        return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


def draft_definition(document: Any) -> ProcessDef:
    """Validate a draft document exactly as ``milepost process load`` validates a file.

    Raises :class:`ProcessInvalid` with every problem (schema first; the pack check runs once
    the schema is satisfied, as in ``process_store``).
    """
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    definition = parse_process(text)
    check_against_packs(definition)
    return definition


def draft_problems(document: Any) -> list[ProcessError]:
    try:
        draft_definition(document)
    except ProcessInvalid as exc:
        return list(exc.errors)
    return []


@dataclass(frozen=True)
class ErrorTarget:
    """Where a problem belongs in the designer: a stage (0-based), a criterion in it, a field.

    ``stage`` None means the process settings; ``field`` "" means the stage / criterion /
    process as a whole (e.g. "expected_days must not exceed max_days").
    """

    stage: int | None
    criterion: int | None
    field: str
    message: str


_STAGE = re.compile(r"^stage #(\d+)(?: '[^']*')?")
_CRITERION_NO = re.compile(r"^ > criterion #(\d+)(?: '[^']*')?")
_CRITERION_ID = re.compile(r"^ > criterion '([^']*)'")


def error_target(error: ProcessError, document: Any) -> ErrorTarget:
    """Place a validator problem (its human-readable location) on the designer's fields."""
    location = error.location
    stage: int | None = None
    criterion: int | None = None
    match = _STAGE.match(location)
    if match:
        stage = int(match.group(1)) - 1
        location = location[match.end() :]
        by_no = _CRITERION_NO.match(location)
        by_id = _CRITERION_ID.match(location)
        if by_no:
            criterion = int(by_no.group(1)) - 1
            location = location[by_no.end() :]
        elif by_id:
            criterion = _criterion_index(document, stage, by_id.group(1))
            location = location[by_id.end() :]
        location = location.removeprefix(" > ")
    field = location.split(" > ", 1)[0] if location else ""
    if stage is None and field.startswith("line "):
        field = ""  # a YAML syntax error: it belongs to the text as a whole
    return ErrorTarget(stage, criterion, field, error.message)


def _criterion_index(document: Any, stage: int, criterion_id: str) -> int | None:
    try:
        criteria = document["stages"][stage].get("exit_criteria") or []
        return next(i for i, c in enumerate(criteria) if c.get("id") == criterion_id)
    except (KeyError, IndexError, TypeError, AttributeError, StopIteration):
        return None


def draft_targets(document: Any) -> list[ErrorTarget]:
    return [error_target(e, document) for e in draft_problems(document)]
