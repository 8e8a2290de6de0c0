"""The one-page job aid of a stage: the essentials a rep needs on a call, as plain data.

Built from the process definition and the methodology packs it maps, so the page, the PDF and
the API show the same thing. A job aid is a summary, not the playbook: a few actions, the exit
criteria with who verifies them, and for each methodology element that matters at the stage
its first questions. When no element is mapped, the first questions of the playbook's own
question bank stand in. No Django here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from milepost.engine.methodology_schema import MethodologyDef
from milepost.engine.process_schema import ProcessDef, StageDef
from milepost.playbooks.render import section_items

MAX_ACTIONS = 3
# Required elements get more of the page than recommended ones.
QUESTIONS_PER_ELEMENT = {"required": 3, "recommended": 2}
FALLBACK_QUESTIONS = 5
MAX_MISTAKES = 3
QUESTION_BANK = "Question bank"
COMMON_MISTAKES = "Common mistakes"

VERIFIER_WORDS = {
    "buyer": "the buyer confirms",
    "manager": "your manager verifies",
    "rep": "you verify",
}


class StageNotFound(LookupError):
    """The process has no stage with that key."""


@dataclass(frozen=True)
class CriterionLine:
    id: str
    statement: str
    verifier: str
    verified_by: str


@dataclass(frozen=True)
class ElementLine:
    pack: str
    pack_name: str
    element: str
    label: str
    need: str  # "required" or "recommended"
    questions: tuple[str, ...]


@dataclass(frozen=True)
class JobAid:
    process_key: str
    process_name: str
    version: int | None
    stage_key: str
    stage_label: str
    kind: str
    position: int
    stage_count: int
    buyer_goal: str
    exit_criteria: tuple[CriterionLine, ...]
    actions: tuple[str, ...]
    elements: tuple[ElementLine, ...]
    # Playbook question-bank questions, used only when no methodology element is mapped.
    questions: tuple[str, ...]
    mistakes: tuple[str, ...]
    notes: str  # the stage's job_aid Markdown

    @property
    def title(self) -> str:
        return f"{self.stage_label} · {self.process_name}"


def find_stage(process: ProcessDef, stage_key: str) -> StageDef:
    for stage in process.stages:
        if stage.key == stage_key:
            return stage
    raise StageNotFound(stage_key)


def build_job_aid(
    process: ProcessDef,
    stage_key: str,
    packs: Mapping[str, MethodologyDef],
    *,
    version: int | None = None,
) -> JobAid:
    """The job aid of ``stage_key``; raises :class:`StageNotFound` for an unknown stage.

    A pack or element the process names but ``packs`` lacks still appears (by its key, with no
    questions): the job aid shows what the process asks for even if a pack is missing.
    """
    stage = find_stage(process, stage_key)
    elements = tuple(_elements(stage, packs))
    questions: tuple[str, ...] = ()
    if not any(e.questions for e in elements):
        questions = tuple(section_items(stage.playbook, QUESTION_BANK)[:FALLBACK_QUESTIONS])
    return JobAid(
        process_key=process.key,
        process_name=process.name,
        version=version,
        stage_key=stage.key,
        stage_label=stage.label,
        kind=stage.kind,
        position=process.stages.index(stage) + 1,
        stage_count=len(process.stages),
        buyer_goal=stage.buyer_goal,
        exit_criteria=tuple(
            CriterionLine(
                id=c.id,
                statement=c.statement,
                verifier=c.verifier,
                verified_by=VERIFIER_WORDS.get(c.verifier, c.verifier),
            )
            for c in stage.exit_criteria
        ),
        actions=tuple(stage.suggested_actions[:MAX_ACTIONS]),
        elements=elements,
        questions=questions,
        mistakes=tuple(section_items(stage.playbook, COMMON_MISTAKES)[:MAX_MISTAKES]),
        notes=stage.job_aid,
    )


def _elements(stage: StageDef, packs: Mapping[str, MethodologyDef]) -> list[ElementLine]:
    lines: list[ElementLine] = []
    for pack_key, mapping in stage.methodology.items():
        pack = packs.get(pack_key)
        for need, keys in (("required", mapping.required), ("recommended", mapping.recommended)):
            for key in keys:
                element = None
                if pack is not None:
                    try:
                        element = pack.element(key)
                    except KeyError:
                        element = None
                lines.append(
                    ElementLine(
                        pack=pack_key,
                        pack_name=pack.name if pack is not None else pack_key,
                        element=key,
                        label=element.label if element is not None else key.replace("_", " "),
                        need=need,
                        questions=tuple(element.questions[: QUESTIONS_PER_ELEMENT[need]])
                        if element is not None
                        else (),
                    )
                )
    # Required elements first (across packs), each group in the process's order.
    return sorted(lines, key=lambda line: line.need != "required")
