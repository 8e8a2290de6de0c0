"""What changed between two versions of a sales process, as structured changes.

``diff_processes(old, new)`` compares two validated :class:`ProcessDef` documents and returns
:class:`Change` items a person can read one per line ("stage 'evaluate': probability 35 → 40").
Stages are matched by key and exit criteria by id (unique within a process, so a criterion that
moved to another stage is reported as moved, not as removed plus added). This module does not
decide whether a change is safe for open opportunities; it only describes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from milepost.engine.process_schema import ExitCriterionDef, ProcessDef, StageDef
from milepost.engine.rule_text import rule_text


class ChangeKind(StrEnum):
    PROCESS_FIELD = "process_field"
    STAGE_ADDED = "stage_added"
    STAGE_REMOVED = "stage_removed"
    STAGES_REORDERED = "stages_reordered"
    STAGE_FIELD = "stage_field"
    SUGGESTED_ACTIONS = "suggested_actions"
    CRITERION_ADDED = "criterion_added"
    CRITERION_REMOVED = "criterion_removed"
    CRITERION_MOVED = "criterion_moved"
    CRITERIA_REORDERED = "criteria_reordered"
    CRITERION_FIELD = "criterion_field"
    METHODOLOGIES = "methodologies"
    METHODOLOGY_MAPPING = "methodology_mapping"
    STAGE_TEXT = "stage_text"


PROCESS_FIELDS = ("key", "name", "description", "currency", "gate_policy", "inspection")
STAGE_FIELDS = (
    "label",
    "kind",
    "buyer_phase",
    "buyer_goal",
    "probability",
    "forecast_category",
    "expected_days",
    "max_days",
)
CRITERION_FIELDS = ("statement", "verifier", "rule", "evidence", "guidance")

_FIELD_WORDS = {
    "gate_policy": "gate policy",
    "buyer_phase": "buyer phase",
    "buyer_goal": "buyer goal",
    "forecast_category": "forecast category",
    "expected_days": "expected days",
    "max_days": "max days",
    "inspection": "inspection thresholds",
    "job_aid": "job aid",
}
# Long Markdown fields: reported as changed with a line count, not quoted whole.
STAGE_TEXT_FIELDS = ("playbook", "job_aid")


@dataclass(frozen=True)
class Change:
    """One difference. ``stage`` / ``criterion`` / ``field`` say where; ``old`` / ``new`` what.

    For ``SUGGESTED_ACTIONS`` ``old`` and ``new`` are the removed and added lines; for
    ``STAGES_REORDERED`` they are the stage keys (common to both versions) in each order; for
    ``CRITERIA_REORDERED`` the ids of the stage's criteria common to both, in each order; for
    ``METHODOLOGIES`` the ``pack (purpose)`` lines removed and added; for
    ``METHODOLOGY_MAPPING`` (``field`` = pack key) the ``required x`` / ``recommended x`` entries
    removed and added; for ``STAGE_TEXT`` the number of lines removed and added.
    """

    kind: ChangeKind
    stage: str | None = None
    criterion: str | None = None
    field: str | None = None
    old: Any = None
    new: Any = None

    @property
    def where(self) -> str:
        parts = []
        if self.stage:
            parts.append(f"stage '{self.stage}'")
        if self.criterion:
            parts.append(f"criterion '{self.criterion}'")
        return " > ".join(parts) or "process"

    def describe(self) -> list[str]:
        """Readable lines: the first names the change, any others give detail."""
        word = _FIELD_WORDS.get(self.field or "", self.field or "")
        kind = self.kind
        if kind == ChangeKind.PROCESS_FIELD:
            return [f"process: {word} {_show(self.old)} → {_show(self.new)}"]
        if kind == ChangeKind.STAGE_ADDED:
            return [f"{self.where} added: {self.new}"]
        if kind == ChangeKind.STAGE_REMOVED:
            return [f"{self.where} removed: {self.old}"]
        if kind == ChangeKind.STAGES_REORDERED:
            return [
                "stages reordered:",
                "  was: " + ", ".join(self.old),
                "  now: " + ", ".join(self.new),
            ]
        if kind == ChangeKind.STAGE_FIELD:
            return [f"{self.where}: {word} {_show(self.old)} → {_show(self.new)}"]
        if kind == ChangeKind.SUGGESTED_ACTIONS:
            return [
                f"{self.where}: suggested actions changed",
                *(f"  - {line}" for line in self.old),
                *(f"  + {line}" for line in self.new),
            ]
        if kind == ChangeKind.CRITERION_ADDED:
            return [f"{self.where} added: {_show(self.new)}"]
        if kind == ChangeKind.CRITERION_REMOVED:
            return [f"{self.where} removed: {_show(self.old)}"]
        if kind == ChangeKind.CRITERIA_REORDERED:
            return [
                f"{self.where}: exit criteria reordered",
                "  was: " + ", ".join(self.old),
                "  now: " + ", ".join(self.new),
            ]
        if kind == ChangeKind.METHODOLOGIES:
            return [
                "process: methodologies changed",
                *(f"  - {line}" for line in self.old),
                *(f"  + {line}" for line in self.new),
            ]
        if kind == ChangeKind.METHODOLOGY_MAPPING:
            return [
                f"{self.where}: {self.field} mapping changed",
                *(f"  - {line}" for line in self.old),
                *(f"  + {line}" for line in self.new),
            ]
        if kind == ChangeKind.STAGE_TEXT:
            return [f"{self.where}: {word} text changed (-{self.old} / +{self.new} lines)"]
        if kind == ChangeKind.CRITERION_MOVED:
            return [f"criterion '{self.criterion}' moved from stage '{self.old}' to '{self.new}'"]
        if self.field == "rule":
            return [
                f"{self.where}: rule changed",
                f"  was: {_rule_words(self.old)}",
                f"  now: {_rule_words(self.new)}",
            ]
        return [f"{self.where}: {word} {_show(self.old)} → {_show(self.new)}"]

    def __str__(self) -> str:
        return "\n".join(self.describe())


def _show(value: Any) -> str:
    if value is None or value == "":
        return "(none)"
    if isinstance(value, str):
        return f"“{value}”" if " " in value else value
    if isinstance(value, BaseModel):
        return str(value.model_dump(mode="json", exclude_none=True))
    return str(value)


def _rule_words(rule: dict[str, Any] | None) -> str:
    return rule_text(rule) if rule else "(no automatic check)"


def _rule(criterion: ExitCriterionDef) -> dict[str, Any] | None:
    if criterion.rule is None:
        return None
    return criterion.rule.model_dump(mode="json", by_alias=True, exclude_none=True)


def _criterion_changes(stage: str, old: ExitCriterionDef, new: ExitCriterionDef) -> list[Change]:
    out = []
    for name in CRITERION_FIELDS:
        a = _rule(old) if name == "rule" else getattr(old, name)
        b = _rule(new) if name == "rule" else getattr(new, name)
        if a != b:
            out.append(Change(ChangeKind.CRITERION_FIELD, stage, old.id, name, a, b))
    return out


def _stage_summary(stage: StageDef) -> str:
    criteria = len(stage.exit_criteria)
    return (
        f"“{stage.label}” ({stage.kind}, {stage.probability}%, {stage.forecast_category}, "
        f"{criteria} exit criteri{'on' if criteria == 1 else 'a'})"
    )


def _stage_changes(old: StageDef, new: StageDef) -> list[Change]:
    out = [
        Change(ChangeKind.STAGE_FIELD, new.key, None, name, getattr(old, name), getattr(new, name))
        for name in STAGE_FIELDS
        if getattr(old, name) != getattr(new, name)
    ]
    if old.suggested_actions != new.suggested_actions:
        removed = [a for a in old.suggested_actions if a not in new.suggested_actions]
        added = [a for a in new.suggested_actions if a not in old.suggested_actions]
        if not removed and not added:  # same lines, new order
            removed, added = list(old.suggested_actions), list(new.suggested_actions)
        out.append(Change(ChangeKind.SUGGESTED_ACTIONS, new.key, None, None, removed, added))
    for pack in sorted(set(old.methodology) | set(new.methodology)):
        was, now = _mapping_lines(old, pack), _mapping_lines(new, pack)
        if was != now:
            removed = [line for line in was if line not in now]
            added = [line for line in now if line not in was]
            out.append(Change(ChangeKind.METHODOLOGY_MAPPING, new.key, None, pack, removed, added))
    for name in STAGE_TEXT_FIELDS:
        before, after = getattr(old, name), getattr(new, name)
        if before != after:
            was_lines, now_lines = before.splitlines(), after.splitlines()
            removed_count = sum(1 for line in was_lines if line not in now_lines)
            added_count = sum(1 for line in now_lines if line not in was_lines)
            out.append(
                Change(ChangeKind.STAGE_TEXT, new.key, None, name, removed_count, added_count)
            )
    return out


def _mapping_lines(stage: StageDef, pack: str) -> list[str]:
    mapping = stage.methodology.get(pack)
    if mapping is None:
        return []
    return [f"required {e}" for e in mapping.required] + [
        f"recommended {e}" for e in mapping.recommended
    ]


def _use_lines(process: ProcessDef) -> list[str]:
    return [f"{u.pack} ({u.purpose})" if u.purpose else u.pack for u in process.methodologies]


def diff_processes(old: ProcessDef, new: ProcessDef) -> list[Change]:
    """Every difference from ``old`` to ``new``, in document order. Empty when identical."""
    changes: list[Change] = [
        Change(ChangeKind.PROCESS_FIELD, None, None, name, getattr(old, name), getattr(new, name))
        for name in PROCESS_FIELDS
        if getattr(old, name) != getattr(new, name)
    ]
    was_uses, now_uses = _use_lines(old), _use_lines(new)
    if was_uses != now_uses:
        changes.append(
            Change(
                ChangeKind.METHODOLOGIES,
                old=[u for u in was_uses if u not in now_uses] or was_uses,
                new=[u for u in now_uses if u not in was_uses] or now_uses,
            )
        )
    old_stages = {s.key: s for s in old.stages}
    new_stages = {s.key: s for s in new.stages}

    for stage in old.stages:
        if stage.key not in new_stages:
            changes.append(Change(ChangeKind.STAGE_REMOVED, stage.key, old=_stage_summary(stage)))
    for index, stage in enumerate(new.stages):
        if stage.key not in old_stages:
            after = new.stages[index - 1].key if index else None
            where = f"after '{after}'" if after else "first"
            changes.append(
                Change(ChangeKind.STAGE_ADDED, stage.key, new=f"{_stage_summary(stage)}, {where}")
            )

    old_order = [s.key for s in old.stages if s.key in new_stages]
    new_order = [s.key for s in new.stages if s.key in old_stages]
    if old_order != new_order:
        changes.append(Change(ChangeKind.STAGES_REORDERED, old=old_order, new=new_order))

    for stage in new.stages:
        if stage.key in old_stages:
            changes.extend(_stage_changes(old_stages[stage.key], stage))

    # Criteria by id across the whole process: ids are unique per process, so a criterion
    # found under another stage moved there.
    old_criteria = {c.id: (s.key, c) for s in old.stages for c in s.exit_criteria}
    new_criteria = {c.id: (s.key, c) for s in new.stages for c in s.exit_criteria}
    for cid, (stage_key, criterion) in old_criteria.items():
        if cid not in new_criteria:
            changes.append(
                Change(ChangeKind.CRITERION_REMOVED, stage_key, cid, old=criterion.statement)
            )
    for cid, (stage_key, criterion) in new_criteria.items():
        if cid not in old_criteria:
            changes.append(
                Change(ChangeKind.CRITERION_ADDED, stage_key, cid, new=criterion.statement)
            )
            continue
        old_stage, old_criterion = old_criteria[cid]
        if old_stage != stage_key:
            changes.append(
                Change(ChangeKind.CRITERION_MOVED, stage_key, cid, old=old_stage, new=stage_key)
            )
        changes.extend(_criterion_changes(stage_key, old_criterion, criterion))

    # Order within a stage matters (it is the order the rep works through them).
    for stage in new.stages:
        if stage.key not in old_stages:
            continue
        kept = {c.id for c in old_stages[stage.key].exit_criteria} & {
            c.id for c in stage.exit_criteria
        }
        was = [c.id for c in old_stages[stage.key].exit_criteria if c.id in kept]
        now = [c.id for c in stage.exit_criteria if c.id in kept]
        if was != now:
            changes.append(Change(ChangeKind.CRITERIA_REORDERED, stage.key, old=was, new=now))
    return changes


def describe_changes(changes: list[Change]) -> list[str]:
    """All changes as readable lines (what the CLI prints and the version page shows)."""
    return [line for change in changes for line in change.describe()]
