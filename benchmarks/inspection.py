"""Timing of full-pipeline inspection on a loaded benchmark database.

:func:`time_inspection` is the hook: it runs in a process whose Django ``default`` database is
the target, times each step ``repeat`` times and returns one :class:`Row` per step (median
seconds). Today it times the set-based read the inspection engine consumes
(``pipeline_frames``); the inspection service and the per-opportunity ORM baseline plug in as
further steps in :data:`STEPS`.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Row:
    """One line of the results table."""

    database: str
    opportunities: int
    activities: int
    transitions: int
    step: str
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _pipeline_frames(admin_user: Any) -> None:
    from milepost.inspection.selectors import pipeline_frames

    frames = pipeline_frames(user=admin_user)
    if frames.opportunities.height == 0:
        raise RuntimeError("pipeline_frames returned no opportunities: nothing was timed")


# step name -> callable(admin_user). The lead adds e.g.
#   "inspect_pipeline": lambda user: inspect_pipeline(user=user, as_of=AS_OF)
#   "orm_baseline (per deal, sample)": ...
STEPS: dict[str, Callable[[Any], None]] = {
    "pipeline_frames (admin)": _pipeline_frames,
}


def table_counts() -> tuple[int, int, int]:
    """Opportunities, activities and transitions in the current database."""
    from milepost.pipeline.models import Activity, Opportunity, StageTransition

    return (
        Opportunity.objects.count(),
        Activity.objects.count(),
        StageTransition.objects.count(),
    )


def time_inspection(db_label: str, admin_user: Any, repeat: int) -> list[Row]:
    """Median wall-clock seconds of each step in :data:`STEPS` over ``repeat`` runs."""
    opportunities, activities, transitions = table_counts()
    rows = []
    for step, run in STEPS.items():
        samples = []
        for _ in range(max(1, repeat)):
            started = time.perf_counter()
            run(admin_user)
            samples.append(time.perf_counter() - started)
        rows.append(
            Row(
                database=db_label,
                opportunities=opportunities,
                activities=activities,
                transitions=transitions,
                step=step,
                seconds=statistics.median(samples),
            )
        )
    return rows


def format_table(rows: list[Row]) -> str:
    """A plain-text table (also valid Markdown)."""
    header = ("database", "opportunities", "activities", "transitions", "step", "seconds")
    cells = [
        (
            r.database,
            f"{r.opportunities:,}",
            f"{r.activities:,}",
            f"{r.transitions:,}",
            r.step,
            f"{r.seconds:.2f}",
        )
        for r in rows
    ]
    widths = [max(len(c[i]) for c in [header, *cells]) for i in range(len(header))]
    right = {1, 2, 3, 5}

    def line(values: tuple[str, ...]) -> str:
        parts = [
            v.rjust(w) if i in right else v.ljust(w)
            for i, (v, w) in enumerate(zip(values, widths, strict=True))
        ]
        return "| " + " | ".join(parts) + " |"

    rule = (
        "|"
        + "|".join(
            "-" * (w + 1) + ":" if i in right else "-" * (w + 2) for i, w in enumerate(widths)
        )
        + "|"
    )
    return "\n".join([line(header), rule, *(line(c) for c in cells)])
