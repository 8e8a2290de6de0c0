"""Reads for sales processes and the methodology packs they map: readable by every signed-in
user."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from functools import lru_cache

from django.db.models import Count, Prefetch, QuerySet

from milepost.engine.methodology_schema import MethodologyDef, element_scales
from milepost.engine.process_schema import ProcessDef
from milepost.process.models import (
    ExitCriterion,
    MethodologyPack,
    ProcessVersion,
    SalesProcess,
    Stage,
)


def process_list() -> QuerySet[SalesProcess]:
    return SalesProcess.objects.prefetch_related(
        Prefetch("versions", queryset=ProcessVersion.objects.filter(is_current=True))
    )


def current_version(*, process_key: str) -> ProcessVersion | None:
    return (
        ProcessVersion.objects.filter(process__key=process_key, is_current=True)
        .select_related("process")
        .first()
    )


def version_stages(*, version_id: int) -> list[Stage]:
    """Stages of a version in order, with their exit criteria prefetched (one extra query)."""
    return list(
        Stage.objects.filter(version_id=version_id)
        .order_by("position")
        .prefetch_related(
            Prefetch("exit_criteria", queryset=ExitCriterion.objects.order_by("position"))
        )
    )


def process_version(*, process_key: str, number: int | None = None) -> ProcessVersion | None:
    """Version ``number`` of a process, or its current version when ``number`` is None."""
    rows = ProcessVersion.objects.filter(process__key=process_key).select_related(
        "process", "loaded_by"
    )
    if number is None:
        return rows.filter(is_current=True).first()
    return rows.filter(number=number).first()


def process_versions(*, process_id: int) -> list[ProcessVersion]:
    """Every version of a process, newest first, with who loaded it and its stage count."""
    return list(
        ProcessVersion.objects.filter(process_id=process_id)
        .select_related("loaded_by")
        .annotate(stage_count=Count("stages"))
        .order_by("-number")
    )


def process_overview() -> list[SalesProcess]:
    """Processes by name with ``all_versions`` (newest first, stage counts, loader) attached.

    Two queries whatever the number of processes and versions.
    """
    versions = (
        ProcessVersion.objects.select_related("loaded_by")
        .annotate(stage_count=Count("stages"))
        .order_by("-number")
    )
    return list(
        SalesProcess.objects.order_by("name").prefetch_related(
            Prefetch("versions", queryset=versions, to_attr="all_versions")
        )
    )


@lru_cache(maxsize=64)
def _parsed(checksum: str, definition_json: str) -> ProcessDef:
    return ProcessDef.model_validate_json(definition_json)


def process_definitions(version_ids: Sequence[int]) -> dict[int, ProcessDef]:
    """Parsed definitions of process versions, one query; parsing is cached by checksum."""
    rows = ProcessVersion.objects.filter(pk__in=list(version_ids)).values_list(
        "id", "checksum", "definition"
    )
    return {vid: _parsed(checksum, json.dumps(d)) for vid, checksum, d in rows}


def process_definition(version_id: int) -> ProcessDef:
    """The parsed definition of one process version."""
    return process_definitions([version_id])[version_id]


_CACHE: dict[tuple[tuple[str, str], ...], dict[str, MethodologyDef]] = {}


def packs_stamp() -> str:
    """A short digest of every loaded pack's key and checksum: it changes when any pack does."""
    stamp = tuple(MethodologyPack.objects.order_by("key").values_list("key", "checksum"))
    return hashlib.sha256(repr(stamp).encode()).hexdigest()[:16]


def pack_definitions() -> dict[str, MethodologyDef]:
    """Every loaded pack, validated, by key. One small query; parsing is cached by checksum."""
    stamp = tuple(MethodologyPack.objects.order_by("key").values_list("key", "checksum"))
    cached = _CACHE.get(stamp)
    if cached is None:
        cached = {
            pack.key: MethodologyDef.model_validate(pack.definition)
            for pack in MethodologyPack.objects.order_by("key")
        }
        _CACHE.clear()
        _CACHE[stamp] = cached
    return cached


def scales() -> dict[tuple[str, str], tuple[str, ...]]:
    """(pack, element) -> level keys lowest first, for exit-criterion rules on elements."""
    return element_scales(pack_definitions())


def pack_list() -> QuerySet[MethodologyPack]:
    return MethodologyPack.objects.order_by("name")
