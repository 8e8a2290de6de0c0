"""The competency model in force, the competencies it makes ratable, and the admin's edits.

The model is one YAML document: the stored :class:`~milepost.coaching.models.CompetencyModel`
row (key ``default``) once an admin has saved one, the shipped
``coaching/defaults/competencies.yaml`` until then. Parsing is cached by checksum, so a page
pays one small query, not a YAML parse.

The competencies a manager may rate are the model's plus the skills added by the methodology
packs the *current* process versions use (:func:`effective_competencies`): turning MEDDPICC on
in a process makes "multithreading" ratable without touching the model.

Saving (:func:`competency_model_save`) is for sales-ops admins only, validates the whole text
(schema, indicators naming known competencies, indicator references to loaded packs, elements,
levels, criteria and stages) with every problem placed at its line, writes nothing when there is
a problem, and takes the version the admin started from (optimistic lock).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import F

from milepost.coaching.models import CompetencyModel
from milepost.core.errors import VersionConflict
from milepost.engine.competency_schema import (
    CompetencyDef,
    CompetencyModelDef,
    parse_competency_model,
)
from milepost.engine.methodology_schema import MethodologyDef
from milepost.engine.process_schema import ProcessError, ProcessInvalid, line_of
from milepost.process.models import ProcessVersion
from milepost.process.selectors import pack_definitions

MODEL_KEY = "default"
DEFAULT_PATH = Path(__file__).resolve().parent / "defaults" / "competencies.yaml"

# checksum -> parsed model (the stored row's, or the shipped file's); a handful of entries.
_CACHE: dict[str, CompetencyModelDef] = {}


@dataclass(frozen=True)
class CompetencyModelState:
    """The model in force with what an editor needs: its text and the version to lock on.

    ``version`` is 0 while the shipped default is in force (no row yet).
    """

    definition: CompetencyModelDef
    text: str
    checksum: str
    version: int
    stored: bool
    updated_at: datetime | None = None
    updated_by: str = ""


def default_text() -> str:
    return DEFAULT_PATH.read_text(encoding="utf-8")


def competency_model_state() -> CompetencyModelState:
    """The stored model, or the shipped default when nobody has saved one."""
    row = (
        CompetencyModel.objects.select_related("updated_by")
        .filter(key=MODEL_KEY)
        .only("definition", "checksum", "source_text", "version", "updated_at", "updated_by")
        .first()
    )
    if row is not None:
        definition = _CACHE.get(row.checksum)
        if definition is None:
            definition = CompetencyModelDef.model_validate(row.definition)
            _CACHE[row.checksum] = definition
        return CompetencyModelState(
            definition=definition,
            text=row.source_text or dump_competency_model(definition),
            checksum=row.checksum,
            version=row.version,
            stored=True,
            updated_at=row.updated_at,
            updated_by=str(row.updated_by) if row.updated_by else "",
        )
    text = default_text()
    key = "file:" + hashlib.sha256(text.encode()).hexdigest()
    definition = _CACHE.get(key)
    if definition is None:
        definition = parse_competency_model(text)
        _CACHE[key] = definition
    return CompetencyModelState(
        definition=definition, text=text, checksum=definition.checksum(), version=0, stored=False
    )


def competency_model() -> CompetencyModelDef:
    """The competency model in force (stored row, else the shipped default)."""
    return competency_model_state().definition


def dump_competency_model(definition: CompetencyModelDef) -> str:
    return yaml.safe_dump(definition.canonical(), sort_keys=False, allow_unicode=True, width=100)


# --- What is in use: packs of current processes, and the ratable competencies ---------------


def packs_in_use() -> list[MethodologyDef]:
    """Loaded packs named by the current version of any process (each once, in process order)."""
    rows = (
        ProcessVersion.objects.filter(is_current=True)
        .order_by("process__key")
        .values_list("definition__methodologies", flat=True)
    )
    keys: list[str] = []
    for uses in rows:
        for use in uses or []:
            key = use.get("pack") if isinstance(use, dict) else None
            if key and key not in keys:
                keys.append(key)
    packs = pack_definitions() if keys else {}
    return [packs[k] for k in keys if k in packs]


def effective_competencies(model: CompetencyModelDef | None = None) -> list[CompetencyDef]:
    """The model's competencies plus the skills the packs of current processes add."""
    return (model or competency_model()).with_pack_skills(packs_in_use())


def competency_labels() -> dict[str, str]:
    return {c.key: c.label for c in effective_competencies()}


# --- Validation with lines ------------------------------------------------------------------


def _current_process_facts() -> tuple[set[str], set[str]]:
    """Criterion ids and stage keys of every current process version."""
    criteria: set[str] = set()
    stages: set[str] = set()
    for definition in ProcessVersion.objects.filter(is_current=True).values_list(
        "definition", flat=True
    ):
        for stage in definition.get("stages", []):
            stages.add(stage.get("key", ""))
            criteria.update(c.get("id", "") for c in stage.get("exit_criteria", []))
    return criteria, stages


def _reference_problems(
    model: CompetencyModelDef, root: yaml.Node | None, packs: dict[str, MethodologyDef]
) -> list[ProcessError]:
    """Indicators pointing at packs, elements, levels, criteria or stages that do not exist
    (they would silently never fire)."""
    criteria, stages = _current_process_facts()
    below_path = ("when", "element_below")
    problems: list[ProcessError] = []

    def add(n: int, key: str, path: list[Any], message: str) -> None:
        where = f"indicators > [{n + 1}] '{key}' > " + " > ".join(str(p) for p in path)
        line = line_of(root, ["indicators", n, *path])
        problems.append(ProcessError(where, message, line))

    for n, indicator in enumerate(model.indicators):
        when = indicator.when
        below = when.element_below
        if below is not None:
            pack = packs.get(below.pack)
            element = None
            if pack is not None:
                element = next((e for e in pack.elements if e.key == below.element), None)
            if pack is None:
                add(n, indicator.key, [*below_path, "pack"], f"no loaded pack '{below.pack}'")
            elif element is None:
                add(
                    n,
                    indicator.key,
                    [*below_path, "element"],
                    f"pack '{below.pack}' has no element '{below.element}'",
                )
            elif below.level is not None:
                levels = list(pack.scale_of(element.key).keys)
                if below.level not in levels:
                    add(
                        n,
                        indicator.key,
                        [*below_path, "level"],
                        f"unknown level '{below.level}' (levels: {', '.join(levels)})",
                    )
        if when.criterion_unmet is not None and when.criterion_unmet not in criteria:
            add(
                n,
                indicator.key,
                ["when", "criterion_unmet"],
                f"no current process has an exit criterion '{when.criterion_unmet}'",
            )
        unknown_stages = [s for s in indicator.stages if s not in stages]
        if unknown_stages:
            add(
                n,
                indicator.key,
                ["stages"],
                f"no current process has these stages: {', '.join(unknown_stages)}",
            )
    return problems


def competency_model_problems(text: str) -> tuple[CompetencyModelDef | None, list[ProcessError]]:
    """Validate an edited model; every problem names its place and, when known, its line."""
    try:
        yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        line = mark.line + 1 if mark is not None else None
        where = f"line {line}, column {mark.column + 1}" if mark is not None else "YAML"
        return None, [ProcessError(where, f"not valid YAML: {problem}", line)]
    try:
        model = parse_competency_model(text)
    except ProcessInvalid as exc:
        return None, list(exc.errors)
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    packs = pack_definitions()
    in_use = packs_in_use()
    known = {c.key for c in model.with_pack_skills(in_use)}
    problems = []
    for error in model.check_indicators(known):
        n = _indicator_number(error.location)
        line = line_of(root, ["indicators", n - 1, "competencies"]) if n else None
        problems.append(ProcessError(error.location, error.message, error.line or line))
    problems.extend(_reference_problems(model, root, packs))
    return (model if not problems else None), problems


def _indicator_number(location: str) -> int | None:
    # check_indicators says "indicators > [3] 'key' > competencies".
    start, end = location.find("["), location.find("]")
    if start == -1 or end == -1:
        return None
    try:
        return int(location[start + 1 : end])
    except ValueError:
        return None


# --- The admin's edit -----------------------------------------------------------------------


def can_edit_model(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "is_admin", False))


def competency_model_save(*, user: Any, text: str, expected_version: int) -> CompetencyModel:
    """Replace the competency model with ``text`` (sales-ops admins only).

    Raises PermissionDenied (not an admin), ProcessInvalid (every problem, nothing written) or
    VersionConflict (someone saved since ``expected_version``; 0 = the shipped default).
    """
    if not can_edit_model(user):
        raise PermissionDenied("only sales-ops admins edit the competency model")
    model, problems = competency_model_problems(text)
    if problems or model is None:
        raise ProcessInvalid(problems)
    fields = {
        "definition": model.canonical(),
        "checksum": model.checksum(),
        "source_text": text,
        "updated_by": user,
    }
    try:
        with transaction.atomic():
            row = CompetencyModel.objects.select_for_update().filter(key=MODEL_KEY).first()
            current = row.version if row is not None else 0
            if current != expected_version:
                raise VersionConflict(current, "competency model")
            if row is None:
                return CompetencyModel.objects.create(key=MODEL_KEY, version=1, **fields)
            for name, value in fields.items():
                setattr(row, name, value)
            row.version = F("version") + 1
            row.save()
            row.refresh_from_db()
            return row
    except IntegrityError:
        # Two first saves at once: the other one created the row.
        current = (
            CompetencyModel.objects.filter(key=MODEL_KEY).values_list("version", flat=True).first()
        )
        raise VersionConflict(current or 0, "competency model") from None


def competency_keys(competencies: Iterable[CompetencyDef]) -> list[str]:
    return [c.key for c in competencies]
