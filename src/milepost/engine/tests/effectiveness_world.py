"""A small process for the process-effectiveness tests: three open stages, won and lost."""

from __future__ import annotations

from typing import Any

from milepost.engine.process_schema import ProcessDef


def _stage(key: str, kind: str, *, max_days: int | None = None, criteria: tuple[str, ...] = ()):
    probability, category = {"open": (20, "pipeline"), "won": (100, "closed")}.get(
        kind, (0, "omitted")
    )
    doc: dict[str, Any] = {
        "key": key,
        "label": key.capitalize(),
        "kind": kind,
        "buyer_phase": "evaluate",
        "probability": probability,
        "forecast_category": category,
        "exit_criteria": [
            {"id": c, "statement": f"The buyer did {c}", "verifier": "buyer"} for c in criteria
        ],
    }
    if max_days is not None:
        doc["max_days"] = max_days
    return doc


def small_process(gate_policy: str = "warn", a_max_days: int = 3) -> ProcessDef:
    """Stages a (max 3 days; criteria a1, a2), b (max 10; b1), c (no max; c1), won, lost."""
    return ProcessDef.model_validate(
        {
            "key": "small",
            "name": "Small",
            "gate_policy": gate_policy,
            "stages": [
                _stage("a", "open", max_days=a_max_days, criteria=("a1", "a2")),
                _stage("b", "open", max_days=10, criteria=("b1",)),
                _stage("c", "open", criteria=("c1",)),
                _stage("won", "won"),
                _stage("lost", "lost"),
            ],
        }
    )
