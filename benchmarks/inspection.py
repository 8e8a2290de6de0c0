"""Timing of full-pipeline inspection on a loaded benchmark database.

:func:`time_inspection` is the hook: it runs in a process whose Django ``default`` database is
the target, times each step ``repeat`` times and returns one :class:`Row` per step (median
seconds). The steps (:data:`STEPS`) are the set-based inspection service over every deal and
over the open deals (what the inspection page and API call), and the baseline: the same
criteria evaluated one deal at a time through the ORM, measured on a sample and scaled.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
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
    facts: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


AS_OF = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # the generator's as-of day
BASELINE_SAMPLE = 10_000


def _inspect_all(admin_user: Any) -> dict[str, Any]:
    from milepost.inspection.pipeline import inspect_pipeline

    result = inspect_pipeline(user=admin_user, as_of=AS_OF, include_closed=True)
    if result.deals.height == 0:
        raise RuntimeError("inspect_pipeline returned no deals: nothing was timed")
    return {
        "deals": result.deals.height,
        "criteria statuses": result.statuses.height,
        "signals": result.signals.height,
        **{f"{k} s": round(v, 2) for k, v in result.timings.items()},
    }


def _inspect_open(admin_user: Any) -> dict[str, Any]:
    from milepost.inspection.pipeline import inspect_pipeline

    result = inspect_pipeline(user=admin_user, as_of=AS_OF)
    return {
        "deals": result.deals.height,
        "not under control": int((~result.deals["under_control"]).sum()),
        "signals": result.signals.height,
        **{f"{k} s": round(v, 2) for k, v in result.timings.items()},
    }


def _orm_baseline(admin_user: Any) -> dict[str, Any]:
    """The same criteria, one deal at a time through the ORM (the explained form).

    An evenly spaced sample of ``BASELINE_SAMPLE`` deals (every k-th id), so the per-deal cost
    is representative of the whole table; the step's seconds are *scaled* to every deal.
    """
    from milepost.inspection.deal import explain_criteria
    from milepost.pipeline.models import Opportunity

    total = Opportunity.objects.count()
    step = max(1, total // BASELINE_SAMPLE)
    ids = list(
        Opportunity.objects.order_by("id").values_list("id", flat=True)[::step][:BASELINE_SAMPLE]
    )
    started = time.perf_counter()
    not_under_control = 0
    for opportunity_id in ids:
        explanation = explain_criteria(user=admin_user, opportunity_id=opportunity_id, as_of=AS_OF)
        not_under_control += not explanation.under_control
    elapsed = time.perf_counter() - started
    return {
        "sample": len(ids),
        "sample seconds": round(elapsed, 2),
        "not under control in sample": not_under_control,
        "__scaled_seconds": elapsed * total / len(ids),
    }


# step name -> callable(admin_user) returning facts to print next to the timing. A step whose
# facts carry "__scaled_seconds" reports that (an extrapolation) instead of its wall time, and
# is run once: it is a baseline, not the thing being tuned.
STEPS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "inspect_pipeline, every deal (set-based)": _inspect_all,
    "inspect_pipeline, open deals (set-based)": _inspect_open,
    "explain_criteria per deal through the ORM (sample, scaled to every deal)": _orm_baseline,
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
        facts: dict[str, Any] = {}
        for _ in range(max(1, repeat)):
            started = time.perf_counter()
            facts = run(admin_user)
            samples.append(time.perf_counter() - started)
            if "__scaled_seconds" in facts:
                samples = [facts.pop("__scaled_seconds")]
                break
        rows.append(
            Row(
                database=db_label,
                opportunities=opportunities,
                activities=activities,
                transitions=transitions,
                step=step,
                seconds=statistics.median(samples),
                facts=facts,
            )
        )
    return rows


def format_table(rows: list[Row]) -> str:
    """A plain-text table (also valid Markdown)."""
    header = (
        "database",
        "opportunities",
        "activities",
        "transitions",
        "step",
        "seconds",
        "details",
    )
    cells = [
        (
            r.database,
            f"{r.opportunities:,}",
            f"{r.activities:,}",
            f"{r.transitions:,}",
            r.step,
            f"{r.seconds:.2f}",
            "; ".join(
                f"{k}: {v:,}" if isinstance(v, int) else f"{k}: {v}" for k, v in r.facts.items()
            ),
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
    table = "\n".join([line(header), rule, *(line(c) for c in cells)])
    return table + "\n\n" + "\n".join(speedups(rows))


def speedups(rows: list[Row]) -> list[str]:
    """Per database: how many times faster the set-based inspection is than the ORM baseline."""
    lines = []
    for database in dict.fromkeys(r.database for r in rows):
        mine = {r.step: r.seconds for r in rows if r.database == database}
        fast = next((v for k, v in mine.items() if k.endswith("every deal (set-based)")), None)
        slow = next((v for k, v in mine.items() if "through the ORM" in k), None)
        if fast and slow:
            lines.append(
                f"- {database}: set-based inspection of every deal is {slow / fast:,.0f}x faster "
                f"than the per-deal ORM baseline ({slow:,.0f} s scaled vs {fast:.1f} s)."
            )
    return lines
