"""The sales-process file format: a Pydantic schema and a validator with readable errors.

A process is a YAML document: stages in buyer-journey order, each with exit criteria (verifiable
outcomes, optionally backed by a machine-checkable *rule*) and suggested actions. Rules use a
small declarative vocabulary (no ``eval``): field set / compare, contact role attached, contacts
engaged, activity happened, and ``all`` / ``any`` / ``not`` combinations. Evaluating rules is the
inspection engine's job; this module only says whether a document is well formed.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
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

from milepost.engine import yaml_text
from milepost.engine.checksums import canonical_checksum
from milepost.engine.vocabulary import (
    FORECAST_CATEGORIES,
    ActivityTypeName,
    BuyerPhase,
    BuyingRoleName,
    EvidenceNeed,
    ForecastCategoryName,
    GatePolicyName,
    OpportunityFieldName,
    StageKindName,
    VerifierName,
)

SLUG = r"^[a-z][a-z0-9_]*$"
# A level key of a methodology scale.
Slug32 = Annotated[str, Field(pattern=SLUG, max_length=32)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# ---------------------------------------------------------------------------------------------
# Rule vocabulary. Each rule is a mapping with exactly one key naming its kind.


class FieldSetRule(_Strict):
    """``{field_set: next_step}``: the field has a value (not empty, not null)."""

    field_set: OpportunityFieldName


# What a ``field_compare`` value must be for each field, so a typo in a process file is an error
# at validation time instead of a rule that silently evaluates to "unknown" forever.
_NUMBER_FIELDS = frozenset({"amount", "probability"})
_DATE_FIELDS = frozenset({"close_date", "next_step_date"})
_ID_FIELDS = frozenset({"account", "product"})


class FieldCompare(_Strict):
    field: OpportunityFieldName
    op: Literal["eq", "ne", "gt", "gte", "lt", "lte"]
    value: Decimal | int | str | date

    @model_validator(mode="before")
    @classmethod
    def _from_json(cls, data: Any) -> Any:
        # The stored (JSON) document writes dates and decimals as text; read them back as what
        # the field compares with, so a stored definition validates again unchanged.
        if not isinstance(data, dict) or not isinstance(data.get("value"), str):
            return data
        text, field = data["value"], data.get("field")
        try:
            if field in _DATE_FIELDS:
                return {**data, "value": date.fromisoformat(text)}
            if field in _NUMBER_FIELDS:
                number = Decimal(text)
                return {**data, "value": number} if number.is_finite() else data
        except (ValueError, ArithmeticError):
            return data
        return data

    @model_validator(mode="after")
    def _value_fits_field(self) -> FieldCompare:
        v = self.value
        if self.field in _NUMBER_FIELDS:
            ok, wanted = isinstance(v, int | Decimal) and not isinstance(v, bool), "a number"
        elif self.field in _DATE_FIELDS:
            ok, wanted = isinstance(v, date), "a date (YYYY-MM-DD)"
        elif self.field in _ID_FIELDS:
            ok, wanted = isinstance(v, int), "an id (whole number)"
        else:
            ok, wanted = isinstance(v, str), "text"
        if not ok:
            raise ValueError(f"{self.field} is compared with {wanted} (got {v!r})")
        if self.field == "forecast_category" and v not in FORECAST_CATEGORIES:
            raise ValueError(f"unknown forecast category {v!r}")
        if self.field not in _NUMBER_FIELDS | _DATE_FIELDS and self.op not in ("eq", "ne"):
            raise ValueError(f"{self.field} can only be compared with eq or ne")
        return self


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


class MethodologyElement(_Strict):
    pack: str = Field(pattern=SLUG, max_length=64)
    element: str = Field(pattern=SLUG, max_length=48)
    # A level of the element's scale; unset means the top level (fully established).
    at_least: str | None = Field(None, pattern=SLUG, max_length=32)


class MethodologyRule(_Strict):
    """``{methodology: {pack: meddpicc, element: economic_buyer, at_least: confirmed}}``."""

    methodology: MethodologyElement


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
    "methodology",
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
        | Annotated[MethodologyRule, Tag("methodology")]
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


def plain_rules(rule: Any) -> list[dict[str, Any]]:
    """The leaves of a rule tree as plain one-key mappings (validated models or stored JSON)."""
    if rule is None:
        return []
    plain = (
        rule.model_dump(by_alias=True, exclude_none=True) if isinstance(rule, BaseModel) else rule
    )
    ((kind, spec),) = plain.items()
    if kind in ("all", "any"):
        return [leaf for child in spec for leaf in plain_rules(child)]
    if kind == "not":
        return plain_rules(spec)
    return [plain]


# ---------------------------------------------------------------------------------------------
# Process, stages, criteria.


class ExitCriterionDef(_Strict):
    """A verifiable outcome, phrased as what the *buyer* has done or confirmed."""

    id: str = Field(pattern=SLUG, max_length=64)
    statement: str = Field(min_length=5, max_length=300)
    verifier: VerifierName
    rule: Rule | None = None
    # Whether a person must record evidence (at the verifier's level) for the criterion to be
    # met. Unset means: required when there is no rule, optional when there is one (the rule
    # alone decides; evidence, when recorded, is shown and can still be rejected).
    evidence: EvidenceNeed | None = None
    guidance: str = ""

    @property
    def needs_evidence(self) -> bool:
        return self.evidence == "required" or (self.evidence is None and self.rule is None)


SignalName = Literal[
    "criteria_unmet",
    "stalled_in_stage",
    "close_date_past",
    "close_date_pushed",
    "amount_changed",
    "stage_skipped",
    "went_backwards",
    "no_next_step",
    "single_threaded",
    "no_economic_buyer",
    "no_recent_activity",
]
SIGNALS: tuple[str, ...] = SignalName.__args__  # type: ignore[attr-defined]

# Risk points per signal: the prior a manager sets. Used when a process version has too little
# closed history to fit the risk model (engine/risk_model.py), through a logistic mapping of the
# uncapped sum into a chance. Heavier weights go to signals that most often mean the deal is not
# where the rep says it is.
DEFAULT_WEIGHTS: dict[str, int] = {
    "criteria_unmet": 25,
    "stalled_in_stage": 15,
    "close_date_past": 20,
    "close_date_pushed": 10,
    "amount_changed": 5,
    "stage_skipped": 10,
    "went_backwards": 5,
    "no_next_step": 10,
    "single_threaded": 10,
    "no_economic_buyer": 15,
    "no_recent_activity": 15,
}


class InspectionDef(_Strict):
    """Thresholds of the inspection signals; every one has a default a manager would accept."""

    no_activity_days: int = Field(default=14, ge=1, le=365)
    amount_change_pct: int = Field(default=20, ge=1, le=1000)
    pushes_allowed: int = Field(default=0, ge=0, le=20)
    engaged_within_days: int = Field(default=60, ge=1, le=365)
    # From this open stage on, a deal with at most one engaged contact is single-threaded.
    single_threaded_from: str | None = Field(default=None, pattern=SLUG)
    # An economic buyer must be attached by the exit of this stage: deals past it without one
    # are flagged. Unset: the first stage with a contact_role economic_buyer rule, if any.
    economic_buyer_by: str | None = Field(default=None, pattern=SLUG)
    weights: dict[SignalName, int] = Field(default_factory=dict)

    def weight(self, signal: str) -> int:
        weights: dict[str, int] = {str(k): v for k, v in self.weights.items()}
        return weights.get(signal, DEFAULT_WEIGHTS[signal])


class StageMethodology(_Strict):
    """Which elements of one methodology matter at a stage; unlisted ones are not relevant."""

    required: list[str] = Field(default_factory=list)
    recommended: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _disjoint(self) -> StageMethodology:
        both = sorted(set(self.required) & set(self.recommended))
        if both:
            raise ValueError(f"elements both required and recommended: {', '.join(both)}")
        for name in ("required", "recommended"):
            items = getattr(self, name)
            if len(set(items)) != len(items):
                raise ValueError(f"{name} lists an element twice")
        return self


class MethodologyUse(_Strict):
    """A methodology pack the process uses, and what for (shown to reps and managers).

    ``rep_up_to``: the highest level of the pack's scales a rep may set on their own word in
    this process (above it a rep's score is a claim a manager verifies, or a buyer's artefact
    backs); unset, each level's ``set_by`` in the pack decides (by default the top level needs
    a manager). ``rep_up_to_per_element``: the same for single elements, over ``rep_up_to``
    (a rep may confirm the metrics but only claim the decision process, say).
    """

    pack: str = Field(pattern=SLUG, max_length=64)
    purpose: str = ""
    rep_up_to: str | None = Field(None, pattern=SLUG, max_length=32)
    rep_up_to_per_element: dict[Annotated[str, Field(pattern=SLUG, max_length=48)], Slug32] = Field(
        default_factory=dict, max_length=50
    )

    def rep_limit(self, element: str) -> str | None:
        """The highest level a rep may set on ``element`` (None: the pack's levels decide)."""
        return self.rep_up_to_per_element.get(element, self.rep_up_to)


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
    # Methodology pack key -> the elements that matter at this stage.
    methodology: dict[str, StageMethodology] = Field(default_factory=dict)
    # Markdown: the stage's playbook, and the extra notes of its one-page job aid.
    playbook: str = ""
    job_aid: str = ""

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
    methodologies: list[MethodologyUse] = Field(default_factory=list)
    stages: list[StageDef] = Field(min_length=3)
    inspection: InspectionDef | None = None

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
        where: dict[str, list[str]] = {}
        for s in stages:
            for c in s.exit_criteria:
                where.setdefault(c.id, []).append(s.key)
        repeated = [
            f"{cid} (stages {', '.join(keys)})"
            for cid, keys in sorted(where.items())
            if len(keys) > 1
        ]
        if repeated:
            raise ValueError(
                f"exit criterion ids must be unique in the process: {'; '.join(repeated)}"
            )
        return stages

    @model_validator(mode="after")
    def _inspection_stages(self) -> ProcessDef:
        if self.inspection is None:
            return self
        open_keys = [s.key for s in self.open_stages]
        for name in ("single_threaded_from", "economic_buyer_by"):
            key = getattr(self.inspection, name)
            if key is not None and key not in open_keys:
                raise ValueError(
                    f"inspection.{name}: {key!r} is not an open stage "
                    f"(open stages: {', '.join(open_keys)})"
                )
        return self

    @model_validator(mode="after")
    def _methodologies_listed(self) -> ProcessDef:
        listed = [use.pack for use in self.methodologies]
        if len(set(listed)) != len(listed):
            raise ValueError("methodologies: a pack is listed twice")
        for stage in self.stages:
            stray = sorted(set(stage.methodology) - set(listed))
            if stray:
                raise ValueError(
                    f"stage {stage.key!r} maps {', '.join(stray)}, which is not listed under "
                    "methodologies"
                )
            for criterion in stage.exit_criteria:
                for leaf in plain_rules(criterion.rule):
                    spec = leaf.get("methodology")
                    if spec is not None and spec["pack"] not in listed:
                        raise ValueError(
                            f"criterion {criterion.id!r} checks {spec['pack']}, which is not "
                            "listed under methodologies"
                        )
        return self

    @property
    def thresholds(self) -> InspectionDef:
        """The inspection thresholds, defaults filled in."""
        return self.inspection or InspectionDef()

    @property
    def open_stages(self) -> list[StageDef]:
        return [s for s in self.stages if s.kind == "open"]

    def stage(self, key: str) -> StageDef:
        return next(s for s in self.stages if s.key == key)

    def canonical(self) -> dict[str, Any]:
        """The document as plain JSON data: what is stored and what the checksum covers."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def checksum(self) -> str:
        return canonical_checksum(self.canonical())


# ---------------------------------------------------------------------------------------------
# Validation with locations a person can act on.


@dataclass(frozen=True)
class ProcessError:
    """One problem in a process file: where (human-readable path) and what.

    ``line`` is the 1-based line in the YAML text the problem points at, when it is known.
    """

    location: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class ProcessInvalid(ValueError):
    """A process document failed validation; ``errors`` lists every problem found."""

    def __init__(self, errors: list[ProcessError]):
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))


def _describe_location(loc: tuple[Any, ...], data: Any) -> str:
    """Turn ('stages', 2, 'exit_criteria', 0, 'rule') into "stage #3 'commit' > criterion ..."."""
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
        node = _child(node, part)
        i += 1
    return " > ".join(parts)


def _child(node: Any, part: Any) -> Any:
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return None


# Pydantic names the member of a union it tried (``decimal``, ``literal[...]``, ``list[...]``)
# as a step of the location. These words describe what each member accepts.
_UNION_MEMBER_WORDS = {
    "decimal": "a number",
    "float": "a number",
    "int": "a whole number",
    "str": "text",
    "date": "a date (YYYY-MM-DD)",
    "bool": "true or false",
}
_RULE_MODEL_TAGS = {
    "FieldSetRule",
    "FieldCompareRule",
    "ContactRoleRule",
    "ContactsEngagedRule",
    "ActivityRule",
    "MethodologyRule",
    "AllRule",
    "AnyRule",
    "NotRule",
}


def _is_union_member(part: Any, node: Any) -> bool:
    if not isinstance(part, str):
        return False
    typeish = part in _UNION_MEMBER_WORDS or "[" in part
    if isinstance(node, dict):
        return typeish and part not in node
    # Below a scalar or a list a named step cannot be a field of the document.
    return True


def _known_fields() -> list[str]:
    models: list[type[BaseModel]] = [
        ProcessDef,
        StageDef,
        ExitCriterionDef,
        FieldCompare,
        ContactRole,
        ContactsEngaged,
        ActivityHappened,
        MethodologyElement,
        StageMethodology,
        MethodologyUse,
    ]
    names = {name for model in models for name in model.model_fields}
    names.discard("not_")
    return sorted(names | set(RULE_KINDS))


def _got(err: Any) -> str:
    value = err.get("input")
    if err["type"] == "rule_kind" and isinstance(value, dict):
        return f" (got: {', '.join(map(str, value)) or 'nothing'})"
    if isinstance(value, bool | int | float | str | date) and not isinstance(value, Decimal):
        return f" (got {value!r})" if not isinstance(value, date) else f" (got {value})"
    return ""


def _plain_message(err: Any, loc: list[Any]) -> str:
    return _message_without_input(err, loc) + (
        "" if err["type"] in ("missing", "extra_forbidden") else _got(err)
    )


def _message_without_input(err: Any, loc: list[Any]) -> str:
    kind = err["type"]
    message = str(err["msg"]).removeprefix("Value error, ")
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        name = str(loc[-1]) if loc else ""
        close = difflib.get_close_matches(name, _known_fields(), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"unknown field '{name}'{hint}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return "should be a mapping of fields (key: value lines)"
    if message.startswith("Input should be "):
        return "should be " + message.removeprefix("Input should be ")
    if kind == "string_pattern_mismatch":
        pattern = (err.get("ctx") or {}).get("pattern")
        if pattern == SLUG:
            return "should be lower-case letters, digits and underscores, starting with a letter"
        if pattern == r"^[A-Z]{3}$":
            return "should be a three-letter ISO currency code in capitals, e.g. USD"
    if message.startswith("String should "):
        return "should " + message.removeprefix("String should ")
    return message


@dataclass
class _Raw:
    loc: list[Any]  # cleaned, document-shaped path
    message: str
    member: str | None  # the union member this error came from, if any
    deep: bool  # the error is inside that member (e.g. one item of a list member)
    got: str = ""


def line_of(root: yaml.Node | None, loc: Sequence[Any]) -> int | None:
    """The YAML line of the deepest node ``loc`` reaches (the parent's, for missing keys)."""
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        nxt: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == part:
                    nxt = value
                    line = key.start_mark.line + 1
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            nxt = node.value[part]
            line = nxt.start_mark.line + 1
        if nxt is None:
            break
        node = nxt
    return line


def _errors_from(
    exc: ValidationError, data: Any, root: yaml.Node | None = None
) -> list[ProcessError]:
    # Pydantic reports union members and discriminator tags in the location; drop those
    # technical steps so the path reads like the document.
    tags = set(RULE_KINDS) | _RULE_MODEL_TAGS
    raws: list[_Raw] = []
    for err in exc.errors():
        loc = list(err["loc"])
        cleaned: list[Any] = []
        member: str | None = None
        deep = False
        node = data
        for j, part in enumerate(loc):
            # A tag is followed by the same key again ('all', 'all', 0): keep one.
            if part in tags and j + 1 < len(loc) and loc[j + 1] in (part, "not_"):
                continue
            if member is None and _is_union_member(part, node):
                member = str(part)
                deep = j + 1 < len(loc)
                continue
            part = "not" if part == "not_" else part
            cleaned.append(part)
            node = _child(node, part)
        if member is not None and not deep:
            raws.append(
                _Raw(cleaned, _message_without_input(err, cleaned), member, deep, _got(err))
            )
        else:
            raws.append(_Raw(cleaned, _plain_message(err, cleaned), member, deep))

    # One union, several members failed: when a member got further (an item inside a list),
    # its errors are the relevant ones; otherwise say once what the value may be.
    out: list[ProcessError] = []
    seen_unions: set[tuple[Any, ...]] = set()
    for raw in raws:
        if raw.member is None:
            out.append(_error(raw.loc, raw.message, data, root))
            continue
        siblings = [r for r in raws if r.member is not None and _same_union(r, raw)]
        if any(r.deep for r in siblings):
            if raw.deep:
                out.append(_error(raw.loc, raw.message, data, root))
            continue
        key = tuple(raw.loc)
        if key in seen_unions:
            continue
        seen_unions.add(key)
        out.append(_error(raw.loc, _union_message(siblings), data, root))
    return out


def _same_union(a: _Raw, b: _Raw) -> bool:
    shallow_a = a.loc if not a.deep else a.loc[: _union_depth(a)]
    shallow_b = b.loc if not b.deep else b.loc[: _union_depth(b)]
    return shallow_a == shallow_b


def _union_depth(raw: _Raw) -> int:
    # A deep error's path continues past the union value by list indices only.
    depth = len(raw.loc)
    while depth and isinstance(raw.loc[depth - 1], int):
        depth -= 1
    return depth


def _union_message(members: list[_Raw]) -> str:
    words: list[str] = []
    for raw in members:
        member = raw.member or ""
        if member.startswith("list["):
            words.append("a list of those")
        elif member.startswith("literal["):
            words.append(raw.message.removeprefix("should be "))
        else:
            words.append(_UNION_MEMBER_WORDS.get(member, member))
    unique = list(dict.fromkeys(words))
    got = members[0].got if members else ""
    if len(unique) == 1:
        return "should be " + unique[0] + got
    # Members that already list choices ("'a', 'b' or 'c'") need a comma before the last "or".
    last = ", or " if any(" or " in w for w in unique) else " or "
    return "should be " + ", ".join(unique[:-1]) + last + unique[-1] + got


def _error(loc: list[Any], message: str, data: Any, root: yaml.Node | None) -> ProcessError:
    return ProcessError(_describe_location(tuple(loc), data), message, line_of(root, loc))


def parse_process(text: str) -> ProcessDef:
    """Parse and validate YAML text; raise :class:`ProcessInvalid` listing every error."""
    try:
        data = yaml_text.safe_load(text)
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
        raise ProcessInvalid(_errors_from(exc, data, _compose(text))) from exc


def _compose(text: str) -> yaml.Node | None:
    try:
        return yaml_text.compose(text)
    except yaml.YAMLError:  # pragma: no cover - safe_load already accepted the text
        return None


def dump_process(process: ProcessDef) -> str:
    """Render a process back to YAML (stable key order, readable)."""
    return yaml.safe_dump(process.canonical(), sort_keys=False, allow_unicode=True, width=100)
