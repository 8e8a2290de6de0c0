"""Writes for sales processes and methodology packs: load each from YAML.

A process maps elements of methodology packs to its stages, and is checked against the loaded
packs when it is stored; a changed pack must still have what the current processes use. The two
checks need each other, so packs are loaded here, next to processes, and this module depends on
nothing above ``process`` (pack definitions are reference data; scoring deals against them is
:mod:`milepost.methodology`, a layer above pipeline).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from milepost.engine.methodology_schema import (
    MethodologyDef,
    check_process_packs,
    parse_methodology,
)
from milepost.engine.process_schema import ProcessDef, ProcessError, ProcessInvalid, parse_process
from milepost.process.models import (
    ExitCriterion,
    MethodologyPack,
    ProcessVersion,
    SalesProcess,
    Stage,
)
from milepost.process.selectors import pack_definitions
from milepost.team.models import User

DEFAULTS_DIR = Path(__file__).resolve().parent / "defaults"
PACKS_DIR = Path(__file__).resolve().parent / "packs"


@dataclass(frozen=True)
class LoadResult:
    version: ProcessVersion
    created: bool


def process_load(
    *, text: str, source_name: str = "", user: User | None = None, base_dir: Path | None = None
) -> LoadResult:
    """Validate ``text`` and store it as the process's current version.

    ``base_dir`` is the folder of the process file: a stage without ``playbook`` text takes it
    from ``<base_dir>/<process key>/playbooks/<stage key>.md`` when that file exists (playbooks
    are easier to write as Markdown files next to the process than inside the YAML).

    An unchanged document (same canonical checksum as the current version) creates nothing.
    Raises :class:`~milepost.engine.process_schema.ProcessInvalid` and writes nothing when the
    document has errors. Does *not* move open opportunities to the new version: that needs an
    explicit stage mapping (process designer).
    """
    definition = parse_process(text)
    if base_dir is not None:
        definition = with_playbook_files(definition, base_dir)
    return process_store(
        definition=definition, source_text=text, source_name=source_name, user=user
    )


@transaction.atomic
def process_store(
    *,
    definition: ProcessDef,
    source_text: str = "",
    source_name: str = "",
    user: User | None = None,
) -> LoadResult:
    """Store an already-validated definition (see :func:`process_load`).

    Checks the methodology packs it maps exist and have the elements and levels it names
    (shipped packs the database lacks are loaded first); raises ``ProcessInvalid`` otherwise.
    """
    check_against_packs(definition)
    process, _ = SalesProcess.objects.select_for_update().get_or_create(
        key=definition.key,
        defaults={"name": definition.name, "description": definition.description},
    )
    checksum = definition.checksum()
    current = process.versions.filter(is_current=True).first()
    if current is not None and current.checksum == checksum:
        return LoadResult(version=current, created=False)
    if current is not None:
        current.is_current = False
        current.save(update_fields=["is_current"])
    SalesProcess.objects.filter(pk=process.pk).update(
        name=definition.name, description=definition.description
    )
    last = process.versions.order_by("-number").values_list("number", flat=True).first() or 0
    version = ProcessVersion.objects.create(
        process=process,
        number=last + 1,
        checksum=checksum,
        definition=definition.canonical(),
        source_text=source_text,
        source_name=source_name,
        is_current=True,
        loaded_by=user,
    )
    for position, stage_def in enumerate(definition.stages):
        stage = Stage.objects.create(
            version=version,
            key=stage_def.key,
            label=stage_def.label,
            position=position,
            kind=stage_def.kind,
            buyer_phase=stage_def.buyer_phase,
            buyer_goal=stage_def.buyer_goal,
            default_probability=stage_def.probability,
            default_forecast_category=stage_def.forecast_category,
            expected_days=stage_def.expected_days,
            max_days=stage_def.max_days,
            suggested_actions=list(stage_def.suggested_actions),
        )
        ExitCriterion.objects.bulk_create(
            ExitCriterion(
                stage=stage,
                key=c.id,
                statement=c.statement,
                verifier=c.verifier,
                position=i,
                rule=c.rule.model_dump(mode="json", by_alias=True, exclude_none=True)
                if c.rule
                else None,
                guidance=c.guidance,
            )
            for i, c in enumerate(stage_def.exit_criteria)
        )
    return LoadResult(version=version, created=True)


def process_load_defaults(*, user: User | None = None) -> list[LoadResult]:
    """Load every process file shipped in ``process/defaults`` (idempotent)."""
    pack_load_defaults()
    return [
        process_load(text=path.read_text(), source_name=path.name, user=user, base_dir=path.parent)
        for path in sorted(DEFAULTS_DIR.glob("*.yaml"))
    ]


def with_playbook_files(definition: ProcessDef, base_dir: Path) -> ProcessDef:
    """The definition with each empty stage playbook filled from its Markdown file, if any."""
    folder = base_dir / definition.key / "playbooks"
    if not folder.is_dir():
        return definition
    stages = []
    for stage in definition.stages:
        path = folder / f"{stage.key}.md"
        if not stage.playbook and path.is_file():
            stage = stage.model_copy(update={"playbook": path.read_text()})
        stages.append(stage)
    data = definition.model_dump(mode="json", by_alias=True, exclude_none=True)
    data["stages"] = [s.model_dump(mode="json", by_alias=True, exclude_none=True) for s in stages]
    return ProcessDef.model_validate(data)


def check_against_packs(definition: ProcessDef) -> None:
    """Raise ``ProcessInvalid`` when the process names packs, elements or levels that are not
    loaded (shipped packs missing from the database are loaded first)."""
    keys = {use.pack for use in definition.methodologies}
    if not keys:
        return
    ensure_packs(keys)
    errors = check_process_packs(definition, pack_definitions())
    if errors:
        raise ProcessInvalid(errors)


# --- Methodology packs ---------------------------------------------------------------------


@dataclass(frozen=True)
class PackLoadResult:
    pack: MethodologyPack
    created: bool
    changed: bool


def pack_store(*, definition: MethodologyDef, source_name: str = "") -> PackLoadResult:
    """Store a validated pack as the current one for its key (unchanged: nothing written)."""
    checksum = definition.checksum()
    existing = MethodologyPack.objects.filter(key=definition.key).first()
    if existing is not None and existing.checksum == checksum:
        return PackLoadResult(existing, created=False, changed=False)
    pack, created = MethodologyPack.objects.update_or_create(
        key=definition.key,
        defaults={
            "name": definition.name,
            "definition": definition.canonical(),
            "checksum": checksum,
            "source_name": source_name,
        },
    )
    return PackLoadResult(pack, created=created, changed=True)


@transaction.atomic
def pack_load(*, text: str, source_name: str = "") -> PackLoadResult:
    """Validate a pack file and store it. Raises ``ProcessInvalid`` listing every problem.

    A changed pack must still have every element and level the current processes use.
    """
    definition = parse_methodology(text)
    _check_still_fits_processes(definition)
    return pack_store(definition=definition, source_name=source_name)


def pack_load_defaults() -> list[PackLoadResult]:
    """Load every pack shipped in ``process/packs`` (idempotent)."""
    return [
        pack_load(text=path.read_text(), source_name=path.name)
        for path in sorted(PACKS_DIR.glob("*.yaml"))
    ]


def ensure_packs(keys: set[str]) -> None:
    """Load shipped packs a process names that the database does not hold yet."""
    missing = keys - set(MethodologyPack.objects.filter(key__in=keys).values_list("key", flat=True))
    for key in sorted(missing):
        path = PACKS_DIR / f"{key}.yaml"
        if path.exists():
            pack_store(definition=parse_methodology(path.read_text()), source_name=path.name)


def _check_still_fits_processes(definition: MethodologyDef) -> None:
    problems: list[ProcessError] = []
    # The process is checked against every loaded pack with this one replaced: checking it
    # against this pack alone would call the other packs it lists unknown.
    packs = {**pack_definitions(), definition.key: definition}
    for version in ProcessVersion.objects.filter(is_current=True).select_related("process"):
        process = ProcessDef.model_validate(version.definition)
        if definition.key not in {use.pack for use in process.methodologies}:
            continue
        for error in check_process_packs(process, packs):
            problems.append(ProcessError(f"{version.process.key}: {error.location}", error.message))
    if problems:
        raise ProcessInvalid(problems)
