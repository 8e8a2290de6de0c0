"""The sales-process file format: a Pydantic schema and a validator with readable errors.

A process is a YAML document: stages in buyer-journey order, each with exit criteria (verifiable
outcomes, optionally backed by a machine-checkable *rule*) and suggested actions. Rules use a
small declarative vocabulary (no ``eval``): field set / compare, contact role attached, contacts
engaged, activity happened, and ``all`` / ``any`` / ``not`` combinations. Evaluating rules is the
inspection engine's job; this module only says whether a document is well formed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from milepost.engine.vocabulary import (
    ActivityTypeName,
    BuyerPhase,
    BuyingRoleName,
    ForecastCategoryName,
    GatePolicyName,
    OpportunityFieldName,
    StageKindName,
    VerifierName,
)

SLUG = r"^[a-z][a-z0-9_]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# ---------------------------------------------------------------------------------------------
# Rule vocabulary. Each rule is a mapping with exactly one key naming its kind.


class FieldSetRule(_Strict):
    """``{field_set: next_step}``: the field has a value (not empty, not null)."""

    field_set: OpportunityFieldName


class FieldCompare(_Strict):
    field: OpportunityFieldName
    op: Literal["eq", "ne", "gt", "gte", "lt", "lte"]
    value: Decimal | int | str | date


class FieldCompareRule(_Strict):
    """``{field_compare: {field: amount, op: gt, value: 0}}``."""

    field_compare: FieldCompare


class ContactRole(_Strict):
    role: BuyingRoleName
    min: int = Field(1, ge=1)


class ContactRoleRule(_Strict):
    """``{contact_role: {role: economic_buyer}}``: a contact with that buying role is attached."""

    contact_role: ContactRole


class ContactsEngaged(_Strict):
    min: int = Field(ge=1)
    within_days: int = Field(ge=1)


class ContactsEngagedRule(_Strict):
    """``{contacts_engaged: {min: 2, within_days: 30}}``: distinct contacts in recent activities."""

    contacts_engaged: ContactsEngaged


class ActivityHappened(_Strict):
    type: ActivityTypeName | list[ActivityTypeName]
    within_days: int | None = Field(None, ge=1)
    min: int = Field(1, ge=1)


class ActivityRule(_Strict):
    """``{activity: {type: demo, within_days: 60}}``: such an activity happened."""

    activity: ActivityHappened


class AllRule(_Strict):
    all: list[Rule] = Field(min_length=1)


class AnyRule(_Strict):
    any: list[Rule] = Field(min_length=1)


class NotRule(_Strict):
    not_: Rule = Field(alias="not")


RULE_KINDS = (
    "field_set",
    "field_compare",
    "contact_role",
    "contacts_engaged",
    "activity",
    "all",
    "any",
    "not",
)


def _rule_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        keys = [k for k in value if k in RULE_KINDS]
        return keys[0] if len(keys) == 1 else None
    if isinstance(value, BaseModel):
        return next(iter(value.model_dump(by_alias=True, exclude_unset=True)), None)
    return None


Rule = Annotated[
    (
        Annotated[FieldSetRule, Tag("field_set")]
        | Annotated[FieldCompareRule, Tag("field_compare")]
        | Annotated[ContactRoleRule, Tag("contact_role")]
        | Annotated[ContactsEngagedRule, Tag("contacts_engaged")]
        | Annotated[ActivityRule, Tag("activity")]
        | Annotated[AllRule, Tag("all")]
        | Annotated[AnyRule, Tag("any")]
        | Annotated[NotRule, Tag("not")]
    ),
    Discriminator(
        _rule_kind,
        custom_error_type="rule_kind",
        custom_error_message="a rule needs exactly one of: " + ", ".join(RULE_KINDS),
    ),
]
AllRule.model_rebuild()
AnyRule.model_rebuild()
NotRule.model_rebuild()


# ---------------------------------------------------------------------------------------------
# Process, stages, criteria.


class ExitCriterionDef(_Strict):
    """A verifiable outcome, phrased as what the *buyer* has done or confirmed."""

    id: str = Field(pattern=SLUG, max_length=64)
    statement: str = Field(min_length=5, max_length=300)
    verifier: VerifierName
    rule: Rule | None = None
    guidance: str = ""


class StageDef(_Strict):
    key: str = Field(pattern=SLUG, max_length=64)
    label: str = Field(min_length=1, max_length=120)
    kind: StageKindName
    buyer_phase: BuyerPhase
    buyer_goal: str = ""
    probability: int = Field(ge=0, le=100)
    forecast_category: ForecastCategoryName
    expected_days: int | None = Field(None, ge=1)
    max_days: int | None = Field(None, ge=1)
    exit_criteria: list[ExitCriterionDef] = Field(default_factory=list)
    suggested_actions: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> StageDef:
        if self.expected_days and self.max_days and self.expected_days > self.max_days:
            raise ValueError("expected_days must not exceed max_days")
        if self.kind == "won" and (self.probability != 100 or self.forecast_category != "closed"):
            raise ValueError("a won stage has probability 100 and forecast_category closed")
        if self.kind == "lost" and (self.probability != 0 or self.forecast_category != "omitted"):
            raise ValueError("a lost stage has probability 0 and forecast_category omitted")
        if self.kind == "open" and self.forecast_category == "closed":
            raise ValueError("an open stage cannot forecast as closed")
        if self.kind != "open" and self.exit_criteria:
            raise ValueError("closed stages are final: they have no exit criteria")
        ids = [c.id for c in self.exit_criteria]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"exit criterion ids repeat within the stage: {', '.join(dupes)}")
        return self


class ProcessDef(_Strict):
    """A whole sales process. Open stages come first, in order; then the closed stages."""

    key: str = Field(pattern=SLUG, max_length=64)
    name: str = Field(min_length=1, max_length=120)
    description: str = ""
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$")
    gate_policy: GatePolicyName = "warn"
    stages: list[StageDef] = Field(min_length=3)

    @field_validator("stages")
    @classmethod
    def _stage_order(cls, stages: list[StageDef]) -> list[StageDef]:
        keys = [s.key for s in stages]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"stage keys repeat: {', '.join(dupes)}")
        kinds = [s.kind for s in stages]
        if "won" not in kinds or "lost" not in kinds:
            raise ValueError("a process needs at least one won and one lost stage")
        if "open" not in kinds:
            raise ValueError("a process needs at least one open stage")
        first_closed = next(i for i, k in enumerate(kinds) if k != "open")
        if "open" in kinds[first_closed:]:
            raise ValueError("open stages come first; closed (won/lost) stages last")
        all_ids = [c.id for s in stages for c in s.exit_criteria]
        dupes = sorted({i for i in all_ids if all_ids.count(i) > 1})
        if dupes:
            raise ValueError(
                f"exit criterion ids must be unique in the process: {', '.join(dupes)}"
            )
        return stages

    @property
    def open_stages(self) -> list[StageDef]:
        return [s for s in self.stages if s.kind == "open"]

    def stage(self, key: str) -> StageDef:
        return next(s for s in self.stages if s.key == key)

    def canonical(self) -> dict[str, Any]:
        """The document as plain JSON data: what is stored and what the checksum covers."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def checksum(self) -> str:
        text = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


# ---------------------------------------------------------------------------------------------
# Validation with locations a person can act on.


@dataclass(frozen=True)
class ProcessError:
    """One problem in a process file: where (human-readable path) and what."""

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class ProcessInvalid(ValueError):
    """A process document failed validation; ``errors`` lists every problem found."""

    def __init__(self, errors: list[ProcessError]):
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))


def _describe_location(loc: tuple[Any, ...], data: Any) -> str:
    """Turn ('stages', 2, 'exit_criteria', 0, 'rule') into "stage 'evaluate' > criterion ..."."""
    parts: list[str] = []
    node = data
    i = 0
    while i < len(loc):
        part = loc[i]
        nxt = loc[i + 1] if i + 1 < len(loc) else None
        if part in ("stages", "exit_criteria") and isinstance(nxt, int):
            items = node.get(part) if isinstance(node, dict) else None
            item = items[nxt] if isinstance(items, list) and nxt < len(items) else None
            ident = (
                item.get("key" if part == "stages" else "id") if isinstance(item, dict) else None
            )
            noun = "stage" if part == "stages" else "criterion"
            parts.append(f"{noun} #{nxt + 1}" + (f" '{ident}'" if ident else ""))
            node = item
            i += 2
            continue
        if isinstance(part, int):
            parts.append(f"[{part + 1}]")
        else:
            parts.append(str(part))
        node = (
            node.get(part)
            if isinstance(node, dict)
            else (
                node[part]
                if isinstance(node, list) and isinstance(part, int) and part < len(node)
                else None
            )
        )
        i += 1
    return " > ".join(parts)


def _errors_from(exc: ValidationError, data: Any) -> list[ProcessError]:
    # Pydantic reports union members and discriminator tags in the location; drop those
    # technical steps so the path reads like the document.
    tags = set(RULE_KINDS) | {
        "FieldSetRule",
        "FieldCompareRule",
        "ContactRoleRule",
        "ContactsEngagedRule",
        "ActivityRule",
        "AllRule",
        "AnyRule",
        "NotRule",
    }
    out: list[ProcessError] = []
    for err in exc.errors():
        loc = list(err["loc"])
        cleaned: list[Any] = []
        for j, part in enumerate(loc):
            # A tag is followed by the same key again ('all', 'all', 0): keep one.
            if part in tags and j + 1 < len(loc) and loc[j + 1] in (part, "not_"):
                continue
            cleaned.append("not" if part == "not_" else part)
        message = err["msg"].removeprefix("Value error, ")
        out.append(ProcessError(_describe_location(tuple(cleaned), data), message))
    return out


def parse_process(text: str) -> ProcessDef:
    """Parse and validate YAML text; raise :class:`ProcessInvalid` listing every error."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "YAML"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ProcessInvalid([ProcessError(where, f"not valid YAML: {problem}")]) from exc
    if not isinstance(data, dict):
        raise ProcessInvalid(
            [ProcessError("", "a process file is a mapping with key, name, stages")]
        )
    try:
        return ProcessDef.model_validate(data)
    except ValidationError as exc:
        raise ProcessInvalid(_errors_from(exc, data)) from exc


def dump_process(process: ProcessDef) -> str:
    """Render a process back to YAML (stable key order, readable)."""
    return yaml.safe_dump(process.canonical(), sort_keys=False, allow_unicode=True, width=100)
