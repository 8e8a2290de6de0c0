"""The competency model: the selling skills managers coach, and what in a pipeline points at them.

A YAML document (shipped default: ``coaching/defaults/competencies.yaml``, editable by admins)
lists the core competencies and *indicators*: a deal-level fact (an exit criterion unmet, a
methodology element below a level, an inspection signal), optionally only for deals in some
stages, that suggests a skill gap when a rep shows it far more often than the team. Methodology
packs add their own skills (``MethodologyDef.skills``) to the competency list. Pure data and
validation; skill-gap detection is :mod:`milepost.engine.skill_gaps`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from milepost.engine import yaml_text
from milepost.engine.checksums import canonical_checksum
from milepost.engine.methodology_schema import MethodologyDef
from milepost.engine.process_schema import (
    SIGNALS,
    SLUG,
    ProcessError,
    ProcessInvalid,
    _compose,
    _errors_from,
)
from milepost.engine.vocabulary import CORE_SKILLS


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CompetencyDef(_Strict):
    key: str = Field(pattern=SLUG, max_length=64)
    label: str = Field(min_length=1, max_length=120)
    description: str = ""
    # Where the competency comes from: "core", or the key of the methodology pack that adds it.
    source: str = "core"


class ElementBelow(_Strict):
    pack: str = Field(pattern=SLUG)
    element: str = Field(pattern=SLUG)
    # The element counts as a gap below this level (unset: below the top level).
    level: str | None = Field(None, pattern=SLUG)


class IndicatorWhen(_Strict):
    """Exactly one deal-level fact."""

    criterion_unmet: str | None = Field(None, pattern=SLUG)
    element_below: ElementBelow | None = None
    signal: str | None = None

    @model_validator(mode="after")
    def _one(self) -> IndicatorWhen:
        given = [n for n in ("criterion_unmet", "element_below", "signal") if getattr(self, n)]
        if len(given) != 1:
            raise ValueError("name exactly one of: criterion_unmet, element_below, signal")
        if self.signal is not None and self.signal not in SIGNALS:
            raise ValueError(f"unknown signal {self.signal!r} (signals: {', '.join(SIGNALS)})")
        return self


class IndicatorDef(_Strict):
    """A pattern that points at competencies when a rep shows it more than the team."""

    key: str = Field(pattern=SLUG, max_length=64)
    label: str = Field(min_length=3, max_length=200)
    when: IndicatorWhen
    # Only deals claiming one of these stages count (empty: every open deal).
    stages: list[str] = Field(default_factory=list)
    competencies: list[str] = Field(min_length=1)
    focus: str = Field(min_length=3, description="What to coach, in a manager's words")


class GapThresholds(_Strict):
    """When a rep's rate counts as a gap: enough deals, and clearly above the team's rate.

    The defaults are the shipped model's (coaching/defaults/competencies.yaml, docs/coaching.md):
    a model file that leaves out ``thresholds`` gets the same gaps as the shipped one.
    """

    min_deals: int = Field(default=3, ge=1)
    min_gap_points: int = Field(default=15, ge=1, le=100)  # percentage points above the team
    # The rep's odds of the pattern, rate / (1 - rate), at least this many times the team's
    # (an odds ratio: a rate ratio can never pass for a pattern most of the team shows).
    min_ratio: float = Field(default=1.25, ge=1.0)
    z_score: float = Field(default=1.64, ge=0.0)  # one-sided two-proportion test


class CompetencyModelDef(_Strict):
    competencies: list[CompetencyDef] = Field(min_length=1)
    indicators: list[IndicatorDef] = Field(default_factory=list)
    thresholds: GapThresholds = Field(default_factory=GapThresholds)

    @model_validator(mode="after")
    def _references(self) -> CompetencyModelDef:
        keys = [c.key for c in self.competencies]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"competency keys repeat: {', '.join(dupes)}")
        missing_core = [k for k in CORE_SKILLS if k not in keys]
        if missing_core:
            raise ValueError(f"the core competencies must be listed: {', '.join(missing_core)}")
        indicator_keys = [i.key for i in self.indicators]
        if len(set(indicator_keys)) != len(indicator_keys):
            raise ValueError("indicator keys repeat")
        return self

    def with_pack_skills(self, packs: Iterable[MethodologyDef]) -> list[CompetencyDef]:
        """The competencies plus the skills the given methodology packs add (once each)."""
        out = list(self.competencies)
        seen = {c.key for c in out}
        for pack in packs:
            for skill in pack.skills:
                if skill.key not in seen:
                    seen.add(skill.key)
                    out.append(
                        CompetencyDef(
                            key=skill.key,
                            label=skill.label,
                            description=skill.description,
                            source=pack.key,
                        )
                    )
        return out

    def check_indicators(self, known_competencies: Iterable[str]) -> list[ProcessError]:
        """Indicators naming competencies that are neither listed nor added by a pack."""
        known = set(known_competencies)
        errors = []
        for n, indicator in enumerate(self.indicators, start=1):
            unknown = [c for c in indicator.competencies if c not in known]
            if unknown:
                errors.append(
                    ProcessError(
                        f"indicators > [{n}] '{indicator.key}' > competencies",
                        f"unknown competencies: {', '.join(unknown)}",
                    )
                )
        return errors

    def canonical(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)

    def checksum(self) -> str:
        return canonical_checksum(self.canonical())


def parse_competency_model(text: str) -> CompetencyModelDef:
    """Parse and validate; raise :class:`ProcessInvalid` listing every problem with its place."""
    try:
        data = yaml_text.safe_load(text)
    except yaml.YAMLError as exc:
        raise ProcessInvalid([ProcessError("YAML", f"not valid YAML: {exc}")]) from exc
    if not isinstance(data, dict):
        raise ProcessInvalid([ProcessError("", "a competency model is a mapping")])
    try:
        return CompetencyModelDef.model_validate(data)
    except ValidationError as exc:
        raise ProcessInvalid(_errors_from(exc, data, _compose(text))) from exc
