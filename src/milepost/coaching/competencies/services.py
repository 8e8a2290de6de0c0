"""The admin's edit of the competency model: validation with lines, then the save.

Saving (:func:`competency_model_save`) is for sales-ops admins only, validates the whole text
(schema, indicators naming known competencies, indicator references to loaded packs, elements,
levels, criteria and stages) with every problem placed at its line, writes nothing when there is
a problem, and takes the version the admin started from (optimistic lock). What is in force is
read through :mod:`milepost.coaching.competencies.selectors`.
"""

from __future__ import annotations

from typing import Any

import yaml
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext

from milepost.coaching.competencies.selectors import MODEL_KEY, packs_in_use
from milepost.coaching.models import CompetencyModel
from milepost.core.errors import VersionConflict, check_version
from milepost.engine import yaml_text
from milepost.engine.competency_schema import CompetencyModelDef, parse_competency_model
from milepost.engine.methodology_schema import MethodologyDef
from milepost.engine.process_schema import ProcessError, ProcessInvalid, line_of
from milepost.process.models import ProcessVersion
from milepost.process.selectors import pack_definitions

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
        yaml_text.safe_load(text)
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
    root = yaml_text.compose(text)
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
        raise PermissionDenied(gettext("only sales-ops admins edit the competency model"))
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
            check_version(current, expected_version, what="competency model")
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
