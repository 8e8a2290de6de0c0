"""The competency model in force and the competencies it makes ratable (reads, no user scope:
the model is the organisation's, the same for everyone).

The model is one YAML document: the stored :class:`~milepost.coaching.models.CompetencyModel`
row (key ``default``) once an admin has saved one, the shipped
``coaching/defaults/competencies.yaml`` until then. Parsing is cached by checksum, so a page
pays one small query, not a YAML parse.

The competencies a manager may rate are the model's plus the skills added by the methodology
packs the *current* process versions use (:func:`effective_competencies`): turning MEDDPICC on
in a process makes "multithreading" ratable without touching the model. The admin's edit is in
:mod:`milepost.coaching.competencies.services`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import yaml

from milepost.coaching.models import CompetencyModel
from milepost.engine.competency_schema import (
    CompetencyDef,
    CompetencyModelDef,
    parse_competency_model,
)
from milepost.engine.methodology_schema import MethodologyDef
from milepost.process.models import ProcessVersion
from milepost.process.selectors import pack_definitions

MODEL_KEY = "default"
# The shipped model stays in the app's defaults/ (packaged as data).
DEFAULT_PATH = Path(__file__).resolve().parent.parent / "defaults" / "competencies.yaml"

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
    """Key -> label of every competency in force, for display."""
    return {c.key: c.label for c in effective_competencies()}


def competency_keys() -> set[str]:
    """Every competency a rating, an agenda item or an action item may name: the model's plus
    the skills the active packs add."""
    return {c.key for c in effective_competencies()}
