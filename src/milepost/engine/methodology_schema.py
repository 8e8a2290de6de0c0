"""The methodology-pack file format: elements, their questions and fields, scoring and skills.

A methodology (MEDDPICC, SPIN, Strategic Selling ...) is data, not code: a YAML pack names its
elements, the questions each element asks (question banks), the fields a rep fills in, how an
element is scored (an ordered scale, lowest first, each level with a rubric) and the skills it
relies on. A process maps packs onto its stages (``methodology:`` on a stage); this module only
says whether a pack is well formed and answers questions about it (scales, elements). Packs are
checked against processes in :func:`check_process_packs`.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from milepost.engine import yaml_text
from milepost.engine.checksums import canonical_checksum
from milepost.engine.process_schema import (
    SLUG,
    MethodologyUse,
    ProcessDef,
    ProcessError,
    ProcessInvalid,
    _compose,
    _error,
    _errors_from,
    plain_rules,
)
from milepost.engine.vocabulary import CORE_SKILLS, BuyingRoleName


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


SetBy = Literal["rep", "manager"]


class LevelDef(_Strict):
    """One step of a scoring scale. ``points`` grow with the level (0-3 scales use them).

    ``set_by`` says who may put a deal at this level on their own word: ``rep`` (the deal's
    owner), or ``manager`` (a rep's score at this level is a claim a manager of the owner, or an
    admin, verifies; until then the highest level the rep may set below it counts). Unset, the
    top level of a scale needs a manager and the others a rep may set (:meth:`ScaleDef.set_by`).
    A process may lower or raise the limit per pack (``methodologies: - rep_up_to:``).
    """

    key: str = Field(pattern=SLUG, max_length=32)
    label: str = Field(min_length=1, max_length=60)
    points: int = Field(ge=0, le=100)
    rubric: str = ""
    set_by: SetBy | None = None


class ScaleDef(_Strict):
    """An ordered scale, lowest level first; the first level means "nothing established"."""

    levels: list[LevelDef] = Field(min_length=2, max_length=10)

    @model_validator(mode="after")
    def _ordered(self) -> ScaleDef:
        keys = [level.key for level in self.levels]
        if len(set(keys)) != len(keys):
            raise ValueError(f"scale level keys repeat: {', '.join(keys)}")
        points = [level.points for level in self.levels]
        if any(b <= a for a, b in itertools.pairwise(points)):
            raise ValueError("scale levels are listed lowest first, with increasing points")
        return self

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(level.key for level in self.levels)

    def set_by(self, key: str, *, rep_up_to: str | None = None) -> SetBy:
        """Who may set level ``key`` on their own word. ``rep_up_to`` (a process's choice): the
        highest level a rep may set; otherwise the level's ``set_by``, else the default (the
        top level needs a manager)."""
        rank = self.rank(key)
        if rep_up_to is not None:
            return "rep" if rank <= self.rank(rep_up_to) else "manager"
        level = self.levels[rank]
        if level.set_by is not None:
            return level.set_by
        return "manager" if rank == len(self.levels) - 1 else "rep"

    def rep_counts(self, key: str, *, rep_up_to: str | None = None) -> str:
        """The level that counts when a rep scores ``key``: ``key`` if the rep may set it,
        otherwise the highest level below it the rep may set (the lowest level at worst)."""
        for candidate in reversed(self.keys[: self.rank(key) + 1]):
            if self.set_by(candidate, rep_up_to=rep_up_to) == "rep":
                return candidate
        return self.keys[0]

    def rank(self, key: str) -> int:
        """Position of ``key`` on the scale (0 = lowest); ValueError if it is not a level."""
        try:
            return self.keys.index(key)
        except ValueError:
            raise ValueError(
                f"{key!r} is not a level of this scale ({', '.join(self.keys)})"
            ) from None


FieldType = Literal["text", "long_text", "number", "date", "choice", "contact"]


class FieldDef(_Strict):
    """A piece of information an element asks the rep to record (e.g. the metric's value)."""

    key: str = Field(pattern=SLUG, max_length=48)
    label: str = Field(min_length=1, max_length=120)
    type: FieldType = "text"
    choices: list[str] = Field(default_factory=list)
    help: str = ""

    @model_validator(mode="after")
    def _choices(self) -> FieldDef:
        if self.type == "choice" and len(self.choices) < 2:
            raise ValueError("a choice field lists at least two choices")
        if self.type != "choice" and self.choices:
            raise ValueError("only a choice field has choices")
        return self


class ElementDef(_Strict):
    """One element of a methodology: what to establish, the questions that establish it."""

    key: str = Field(pattern=SLUG, max_length=48)
    label: str = Field(min_length=1, max_length=120)
    summary: str = Field(min_length=10)
    questions: list[str] = Field(default_factory=list)
    # What a manager asks the REP in a 1:1 about this element ("How do you know the economic
    # buyer agrees with the decision criteria?"); ``questions`` are what the rep asks the buyer.
    coaching_questions: list[str] = Field(default_factory=list)
    fields: list[FieldDef] = Field(default_factory=list)
    # Buying roles whose contacts carry this element (the economic buyer, the champion ...).
    contact_roles: list[BuyingRoleName] = Field(default_factory=list)
    skills: list[str] = Field(default_factory=list)
    red_flags: list[str] = Field(default_factory=list)
    scale: ScaleDef | None = None

    @model_validator(mode="after")
    def _fields_unique(self) -> ElementDef:
        keys = [f.key for f in self.fields]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"field keys repeat: {', '.join(dupes)}")
        return self


class SkillDef(_Strict):
    key: str = Field(pattern=SLUG, max_length=48)
    label: str = Field(min_length=1, max_length=120)
    description: str = ""


class OptionDef(_Strict):
    key: str = Field(pattern=SLUG, max_length=32)
    label: str = Field(min_length=1, max_length=60)
    description: str = ""


class InfluenceModelDef(_Strict):
    """Strategic-Selling-style buying influences: roles, degree of influence, response modes."""

    roles: list[OptionDef] = Field(min_length=1)
    degrees: list[OptionDef] = Field(min_length=2)
    response_modes: list[OptionDef] = Field(min_length=2)
    rating_min: int = -5
    rating_max: int = 5

    @model_validator(mode="after")
    def _consistent(self) -> InfluenceModelDef:
        if self.rating_min >= self.rating_max:
            raise ValueError("rating_min must be below rating_max")
        for name in ("roles", "degrees", "response_modes"):
            keys = [o.key for o in getattr(self, name)]
            if len(set(keys)) != len(keys):
                raise ValueError(f"{name} keys repeat")
        return self


class MethodologyDef(_Strict):
    """A whole methodology pack."""

    key: str = Field(pattern=SLUG, max_length=64)
    name: str = Field(min_length=1, max_length=120)
    summary: str = Field(min_length=10)
    scale: ScaleDef
    elements: list[ElementDef] = Field(min_length=1)
    skills: list[SkillDef] = Field(default_factory=list)
    buying_influences: InfluenceModelDef | None = None

    @model_validator(mode="after")
    def _references(self) -> MethodologyDef:
        keys = [e.key for e in self.elements]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"element keys repeat: {', '.join(dupes)}")
        skill_keys = [s.key for s in self.skills]
        if len(set(skill_keys)) != len(skill_keys):
            raise ValueError("skill keys repeat")
        known = set(skill_keys) | set(CORE_SKILLS)
        for element in self.elements:
            unknown = [s for s in element.skills if s not in known]
            if unknown:
                raise ValueError(
                    f"element {element.key!r} relies on unknown skills {', '.join(unknown)} "
                    f"(declare them under skills:, or use a core skill: {', '.join(CORE_SKILLS)})"
                )
        return self

    def element(self, key: str) -> ElementDef:
        for element in self.elements:
            if element.key == key:
                return element
        raise KeyError(key)

    def scale_of(self, element_key: str) -> ScaleDef:
        return self.element(element_key).scale or self.scale

    def canonical(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)

    def checksum(self) -> str:
        return canonical_checksum(self.canonical())


def parse_methodology(text: str) -> MethodologyDef:
    """Parse and validate a pack; raise :class:`ProcessInvalid` listing every problem."""
    try:
        data = yaml_text.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "YAML"
        raise ProcessInvalid([ProcessError(where, f"not valid YAML: {exc}")]) from exc
    if not isinstance(data, dict):
        raise ProcessInvalid(
            [ProcessError("", "a methodology pack is a mapping with key, name, elements")]
        )
    try:
        return MethodologyDef.model_validate(data)
    except ValidationError as exc:
        root = _compose(text)
        errors = _errors_from(exc, data, root)
        located = _reference_errors(data, root)
        if located:
            # The pack-wide checks fail at the document root; say which element and line.
            errors = [e for e in errors if e.location] + located
        raise ProcessInvalid(errors) from exc


def _reference_errors(data: dict[str, Any], root: Any) -> list[ProcessError]:
    """Repeated element keys and unknown element skills, each at its own place in the file."""
    elements = data.get("elements")
    if not isinstance(elements, list):
        return []
    skills = data.get("skills")
    declared = skills if isinstance(skills, list) else []
    known = {s.get("key") for s in declared if isinstance(s, dict)} | set(CORE_SKILLS)
    errors: list[ProcessError] = []
    seen: set[Any] = set()
    for i, element in enumerate(elements):
        if not isinstance(element, dict):
            continue
        key = element.get("key")
        if key in seen:
            errors.append(_error(["elements", i, "key"], f"element keys repeat: {key}", data, root))
        seen.add(key)
        element_skills = element.get("skills")
        for j, skill in enumerate(element_skills if isinstance(element_skills, list) else []):
            if skill not in known:
                errors.append(
                    _error(
                        ["elements", i, "skills", j],
                        f"element {key!r} relies on an unknown skill {skill} (declare it "
                        f"under skills:, or use a core skill: {', '.join(CORE_SKILLS)})",
                        data,
                        root,
                    )
                )
    return errors


# ---------------------------------------------------------------------------------------------
# A process against the packs it maps.

ElementScales = Mapping[tuple[str, str], tuple[str, ...]]


def element_scales(packs: Mapping[str, MethodologyDef]) -> dict[tuple[str, str], tuple[str, ...]]:
    """(pack, element) -> the element's level keys, lowest first: what rule evaluation needs."""
    return {
        (pack.key, element.key): pack.scale_of(element.key).keys
        for pack in packs.values()
        for element in pack.elements
    }


def _rep_limit_errors(where: str, use: MethodologyUse, pack: MethodologyDef) -> list[ProcessError]:
    """The process's limits on what a rep may set name levels of the scales they limit."""
    errors = []
    if use.rep_up_to is not None:
        scales = [pack.scale, *(e.scale for e in pack.elements if e.scale is not None)]
        if any(use.rep_up_to not in scale.keys for scale in scales):
            errors.append(
                ProcessError(
                    f"{where} > rep_up_to",
                    f"{use.rep_up_to!r} is not a level of every scale of {pack.name}",
                )
            )
    known = {e.key for e in pack.elements}
    for element, level in use.rep_up_to_per_element.items():
        field = f"{where} > rep_up_to_per_element > {element}"
        if element not in known:
            errors.append(
                ProcessError(
                    field,
                    f"{pack.name} has no element {element!r} "
                    f"(elements: {', '.join(sorted(known))})",
                )
            )
        elif level not in pack.scale_of(element).keys:
            errors.append(
                ProcessError(
                    field,
                    f"{level!r} is not a level of {pack.name} {element} "
                    f"(levels: {', '.join(pack.scale_of(element).keys)})",
                )
            )
    return errors


def check_process_packs(
    process: ProcessDef, packs: Mapping[str, MethodologyDef]
) -> list[ProcessError]:
    """Every pack, element and level a process names exists; returns the problems found."""
    errors: list[ProcessError] = []
    used = [use.pack for use in process.methodologies]
    for i, key in enumerate(used):
        if key not in packs:
            errors.append(
                ProcessError(
                    f"methodologies > [{i + 1}] > pack",
                    f"no methodology pack {key!r} (available: {', '.join(sorted(packs))})",
                )
            )
    for i, use in enumerate(process.methodologies):
        pack = packs.get(use.pack)
        if pack is None:
            continue
        errors.extend(_rep_limit_errors(f"methodologies > [{i + 1}]", use, pack))
    for n, stage in enumerate(process.stages, start=1):
        where = f"stage #{n} '{stage.key}' > methodology"
        for pack_key, mapping in stage.methodology.items():
            pack = packs.get(pack_key)
            if pack is None:
                continue  # reported above (the process validator requires it be listed)
            known = {e.key for e in pack.elements}
            for kind in ("required", "recommended"):
                for element in getattr(mapping, kind):
                    if element not in known:
                        errors.append(
                            ProcessError(
                                f"{where} > {pack_key} > {kind}",
                                f"{pack.name} has no element {element!r} "
                                f"(elements: {', '.join(sorted(known))})",
                            )
                        )
        for criterion in stage.exit_criteria:
            for rule in plain_rules(criterion.rule):
                spec = rule.get("methodology")
                if spec is None:
                    continue
                at = f"stage #{n} '{stage.key}' > criterion '{criterion.id}' > rule"
                pack = packs.get(spec["pack"])
                if pack is None:
                    continue
                try:
                    scale = pack.scale_of(spec["element"])
                except KeyError:
                    errors.append(
                        ProcessError(at, f"{pack.name} has no element {spec['element']!r}")
                    )
                    continue
                level = spec.get("at_least")
                if level is not None and level not in scale.keys:
                    errors.append(
                        ProcessError(
                            at,
                            f"{level!r} is not a level of {pack.name} {spec['element']} "
                            f"(levels: {', '.join(scale.keys)})",
                        )
                    )
    return errors
