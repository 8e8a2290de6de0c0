"""Reads for playbooks and job aids: one stage of one process version, with its packs.

Everyone signed in may read every process, so there is no row scope here: the only question is
whether the process, version and stage exist. The stage is read from the version's stored
definition (the validated document), which is what carries the playbook and job-aid text.
"""

from __future__ import annotations

from dataclasses import dataclass

from milepost.engine.process_schema import ProcessDef, StageDef
from milepost.playbooks.job_aid import JobAid, StageNotFound, build_job_aid, find_stage
from milepost.process.models import ProcessVersion
from milepost.process.selectors import pack_definitions, process_version


@dataclass(frozen=True)
class StageGuide:
    version: ProcessVersion
    definition: ProcessDef
    stage: StageDef

    @property
    def stages(self) -> list[StageDef]:
        return list(self.definition.stages)

    def job_aid(self) -> JobAid:
        return build_job_aid(
            self.definition, self.stage.key, pack_definitions(), version=self.version.number
        )


def stage_guide(
    *, process_key: str, stage_key: str, number: int | None = None
) -> StageGuide | None:
    """The stage ``stage_key`` of version ``number`` (None: the current version), or None."""
    version = process_version(process_key=process_key, number=number)
    if version is None:
        return None
    definition = ProcessDef.model_validate(version.definition)
    try:
        stage = find_stage(definition, stage_key)
    except StageNotFound:
        return None
    return StageGuide(version=version, definition=definition, stage=stage)
