"""Process effectiveness: which exit criteria tell wins from losses, where deals die, stall and
skip, and ranked suggestions to improve the process (issue 15, part 4). Pure Polars, no Django.

Call :func:`process_effectiveness` with the process definition and three frames built
set-based from the stored tables (the contract: ``contract.DEALS_SCHEMA``,
``TRANSITIONS_SCHEMA``, ``CRITERIA_SCHEMA``); :func:`criterion_exit_moments` says at which
moments the criteria frame must describe each deal. What each figure means and how it is
computed: ``docs/analytics-process-effectiveness.md``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import polars as pl

from milepost.engine.process_effectiveness.contract import (
    CRITERIA_SCHEMA,
    DEALS_SCHEMA,
    TRANSITIONS_SCHEMA,
    EffectivenessInputError,
    EffectivenessSettings,
    checked_frames,
    criterion_exit_moments,
    gate_waivers,
    met_at_gate,
    stage_visits,
)
from milepost.engine.process_effectiveness.figures import (
    CriterionFigures,
    DealFrames,
    StageFigures,
    criterion_figures,
    stage_figures,
)
from milepost.engine.process_effectiveness.stats import (
    Comparison,
    Rate,
    newcombe_interval,
    wilson_interval,
)
from milepost.engine.process_effectiveness.suggestions import (
    MESSAGES,
    VERDICT_MESSAGES,
    ProposedChange,
    Suggestion,
    suggest,
)
from milepost.engine.process_schema import ProcessDef

__all__ = [
    "CRITERIA_SCHEMA",
    "DEALS_SCHEMA",
    "MESSAGES",
    "TRANSITIONS_SCHEMA",
    "VERDICT_MESSAGES",
    "Comparison",
    "CriterionFigures",
    "DealFrames",
    "EffectivenessInputError",
    "EffectivenessSettings",
    "ProcessEffectiveness",
    "ProposedChange",
    "Rate",
    "StageFigures",
    "Suggestion",
    "criterion_exit_moments",
    "gate_waivers",
    "met_at_gate",
    "newcombe_interval",
    "process_effectiveness",
    "stage_visits",
    "wilson_interval",
]


@dataclass(frozen=True, slots=True)
class ProcessEffectiveness:
    """Everything the sales-ops page shows for one process version; ``deals`` holds the
    deals behind each figure (drill-down), see :class:`DealFrames`."""

    process: str
    criteria: tuple[CriterionFigures, ...]
    stages: tuple[StageFigures, ...]
    suggestions: tuple[Suggestion, ...]
    settings: EffectivenessSettings
    # Frames compare by content (DataFrame.equals), not with ==: left out of the dataclass eq.
    deals: DealFrames = field(compare=False)

    def as_json(self) -> dict[str, Any]:
        """Figures, suggestions and settings as plain JSON data (for the API and CLI): tuples
        become lists, ``with_`` becomes ``with``, a suggestion's change its ``as_json``. The
        deal frames are left out: they are for drill-down, not for the summary."""
        return {
            "process": self.process,
            "settings": asdict(self.settings),
            "criteria": [_plain(asdict(c)) for c in self.criteria],
            "stages": [_plain(asdict(s)) for s in self.stages],
            "suggestions": [
                {**_plain(asdict(s)), "params": dict(s.params), "change": s.change.as_json()}
                for s in self.suggestions
            ],
        }


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {("with" if k == "with_" else k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def process_effectiveness(
    process: ProcessDef,
    deals: pl.DataFrame,
    transitions: pl.DataFrame,
    criteria: pl.DataFrame | None = None,
    *,
    as_of: datetime | None = None,
    settings: EffectivenessSettings | None = None,
) -> ProcessEffectiveness:
    """The criterion and stage figures and the ranked suggestions for one process version.

    ``deals``, ``transitions``, ``criteria`` follow ``DEALS_SCHEMA``, ``TRANSITIONS_SCHEMA``,
    ``CRITERIA_SCHEMA`` (extra columns ignored; ``criteria`` None: no criterion recorded, every
    exit ``unrecorded``). ``as_of`` (UTC) only adds the open deals past ``max_days`` now.
    Raises :class:`EffectivenessInputError` when a frame breaks the contract. Reads nothing
    else, writes nothing, applies no suggestion.
    """
    cfg = settings or EffectivenessSettings()
    frames = checked_frames(process, deals, transitions, criteria)
    visits = stage_visits(process, frames.transitions)
    crit, exits = criterion_figures(process, frames, visits, cfg)
    stages, visitors, passed = stage_figures(process, frames, visits, cfg, as_of)
    return ProcessEffectiveness(
        process=process.key,
        criteria=tuple(crit),
        stages=tuple(stages),
        suggestions=tuple(suggest(process, crit, stages, cfg)),
        settings=cfg,
        deals=DealFrames(exits, visitors, passed),
    )
