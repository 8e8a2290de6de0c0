"""Process pages, read-only: the list, one version with its history, the printable process
map, and the YAML export.

Every signed-in user may read every process (the process is the team's shared definition of
how deals progress). Nothing is edited here: processes change through ``milepost process load``
or the process designer (:mod:`milepost.designer`, sales-ops admins). Rule wording and version
diffs come from the engine (:mod:`rule_text`, :mod:`process_diff`); the map labels methodology
elements from the loaded pack definitions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from milepost.engine.process_diff import Change, describe_changes, diff_processes
from milepost.engine.process_schema import ProcessDef
from milepost.engine.rule_text import methodology_label, rule_sentence
from milepost.process.export import export_response
from milepost.process.models import ProcessVersion
from milepost.process.selectors import (
    pack_definitions,
    process_overview,
    process_version,
    process_versions,
    version_stages,
)

GATE_POLICY_WORDS = {
    "block": "A deal cannot leave a stage until its exit criteria are met.",
    "warn": "A deal may leave a stage with unmet exit criteria; the move is flagged.",
    "open": "Exit criteria are guidance; moves are not checked.",
}


@login_required
@require_GET
def process_list_view(request: HttpRequest) -> HttpResponse:
    processes = process_overview()
    for process in processes:
        versions = process.all_versions
        process.current = next((v for v in versions if v.is_current), None)
        process.older = [v for v in versions if not v.is_current]
    return render(request, "process/list.html", {"processes": processes, "nav": "process"})


@dataclass(frozen=True)
class HistoryRow:
    version: ProcessVersion
    changes: list[Change] | None  # None for the first version (nothing to compare with)


@login_required
@require_GET
def process_detail(request: HttpRequest, key: str, number: int | None = None) -> HttpResponse:
    version = process_version(process_key=key, number=number)
    if version is None:
        raise Http404("no such process version")
    stages = version_stages(version_id=version.pk)
    for stage in stages:
        for criterion in stage.exit_criteria.all():
            criterion.rule_words = rule_sentence(criterion.rule) if criterion.rule else ""

    versions = process_versions(process_id=version.process_id)
    definitions = {v.number: ProcessDef.model_validate(v.definition) for v in versions}
    history = [
        HistoryRow(
            version=v,
            changes=diff_processes(definitions[previous.number], definitions[v.number])
            if (previous := _previous(versions, v)) is not None
            else None,
        )
        for v in versions
    ]
    this_row = next(row for row in history if row.version.pk == version.pk)
    previous = _previous(versions, version)
    current = next((v for v in versions if v.is_current), None)
    definition = definitions[version.number]
    return render(
        request,
        "process/detail.html",
        {
            "nav": "process",
            "process": version.process,
            "version": version,
            "definition": definition,
            "gate_policy_words": GATE_POLICY_WORDS.get(definition.gate_policy, ""),
            "current": current,
            "stages": stages,
            "criteria_count": sum(len(s.exit_criteria) for s in definition.stages),
            "history": history,
            "previous": previous,
            "change_lines": describe_changes(this_row.changes or []),
        },
    )


def _previous(versions: list[ProcessVersion], version: ProcessVersion) -> ProcessVersion | None:
    older = [v for v in versions if v.number < version.number]
    return max(older, key=lambda v: v.number) if older else None


@dataclass(frozen=True)
class MapElement:
    key: str
    label: str


@dataclass(frozen=True)
class MapMethodology:
    pack: str
    name: str
    required: list[MapElement]
    recommended: list[MapElement]
    loaded: bool


def _map_methodologies(stage: Any, definition: ProcessDef) -> list[MapMethodology]:
    packs = pack_definitions()
    purposes = [u.pack for u in definition.methodologies]
    out = []
    for pack in sorted(stage.methodology, key=lambda p: purposes.index(p) if p in purposes else 99):
        spec = stage.methodology[pack]
        pack_def = packs.get(pack)

        def label(key: str, pack_def: Any = pack_def) -> MapElement:
            try:
                return MapElement(key, pack_def.element(key).label if pack_def else key)
            except KeyError:
                return MapElement(key, key)

        out.append(
            MapMethodology(
                pack=pack,
                name=pack_def.name if pack_def else methodology_label(pack),
                required=[label(k) for k in spec.required],
                recommended=[label(k) for k in spec.recommended],
                loaded=pack_def is not None,
            )
        )
    return out


@login_required
@require_GET
def process_map_view(request: HttpRequest, key: str, number: int | None = None) -> HttpResponse:
    """The printable process map: what reps follow and managers inspect against."""
    version = process_version(process_key=key, number=number)
    if version is None:
        raise Http404("no such process version")
    definition = ProcessDef.model_validate(version.definition)
    packs = pack_definitions()
    stages = [
        {
            "def": stage,
            "number": n,
            "criteria": [
                {"def": c, "rule": rule_sentence(c.rule) if c.rule is not None else ""}
                for c in stage.exit_criteria
            ],
            "methodologies": _map_methodologies(stage, definition),
        }
        for n, stage in enumerate(definition.stages, start=1)
    ]
    uses = [
        {
            "pack": use.pack,
            "name": packs[use.pack].name if use.pack in packs else methodology_label(use.pack),
            "purpose": use.purpose,
        }
        for use in definition.methodologies
    ]
    return render(
        request,
        "process/map.html",
        {
            "nav": "process",
            "process": version.process,
            "version": version,
            "definition": definition,
            "gate_policy_words": GATE_POLICY_WORDS.get(definition.gate_policy, ""),
            "stages": stages,
            "uses": uses,
        },
    )


@login_required
@require_GET
def export_view(request: HttpRequest, key: str, number: int) -> HttpResponse:
    version = process_version(process_key=key, number=number)
    if version is None:
        raise Http404("no such process version")
    return export_response(version)
