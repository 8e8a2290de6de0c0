"""What a new process definition would do to the open deals' control, without writing anything.

Publishing a process version moves every open deal of the process onto it (same stage key, or
the stage an admin mapped the old one to) and judges them by the new exit criteria. Before an
admin publishes, :func:`inspect_process_change` evaluates the same deals twice in one
set-based run: as they are, and as they would be — each deal's stage key mapped, its version
replaced by the definition in memory — reading the aggregates both definitions need once.
Time in stage restarts for a deal that changes stage, as the publish does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl
from django.utils import timezone

from milepost.engine.process_schema import ProcessDef
from milepost.inspection.pipeline import DEALS_SCHEMA, _evaluate, _read
from milepost.inspection.sql_frames import consistent_reads
from milepost.pipeline.selectors import opportunity_scope
from milepost.process.models import StageKind
from milepost.team.models import User

# The made-up version id the previewed definition is evaluated under (no row has id 0).
PREVIEW_VERSION = 0


@dataclass(frozen=True)
class ChangeInspection:
    """The open deals of the process as they are (``before``) and under the new definition
    (``after``), one row per deal each (:data:`~milepost.inspection.pipeline.DEALS_SCHEMA`;
    ``after`` has the mapped stage key and version id :data:`PREVIEW_VERSION`)."""

    as_of: datetime
    before: pl.DataFrame
    after: pl.DataFrame


def inspect_process_change(
    *,
    user: User,
    process_id: int,
    new: ProcessDef,
    mapping: dict[str, str],
    as_of: datetime | None = None,
) -> ChangeInspection:
    """Control of the open deals of ``process_id`` that ``user`` may see, now and under ``new``.

    ``mapping`` (old stage key → new key) is the publish's; keys not in it stay. Nothing is
    written.
    """
    as_of = as_of or timezone.now()
    scope = (
        opportunity_scope(user=user)
        .filter(stage__kind=StageKind.OPEN, stage__version__process_id=process_id)
        .order_by()
    )
    with consistent_reads(threads=1, native=True) as reads:
        frames = _read(scope, as_of, reads, everything=False, extra={PREVIEW_VERSION: new})
    if frames is None:
        empty = pl.DataFrame(schema=DEALS_SCHEMA)
        return ChangeInspection(as_of, empty, empty)
    # The preview compares control, not risk: the risk models of the live versions are
    # read but the draft's version has none yet (it falls back to the process weights).
    wide, processes, plans, history, evidence, models = frames
    new_plan = plans.pop(PREVIEW_VERSION)
    processes.pop(PREVIEW_VERSION)
    before = _evaluate(as_of, {}, wide, processes, plans, history, evidence, False, models).deals
    mapped = pl.col("stage_key").replace(mapping) if mapping else pl.col("stage_key")
    moved = wide.with_columns(
        pl.when(mapped != pl.col("stage_key"))
        .then(pl.lit(as_of).cast(wide.schema["stage_entered_at"]))
        .otherwise(pl.col("stage_entered_at"))
        .alias("stage_entered_at"),
        mapped.alias("stage_key"),
        pl.lit(PREVIEW_VERSION, dtype=pl.Int64).alias("process_version_id"),
    )
    after = _evaluate(
        as_of,
        {},
        moved,
        {PREVIEW_VERSION: new},
        {PREVIEW_VERSION: new_plan},
        history,
        evidence,
        False,
    ).deals
    return ChangeInspection(as_of, before, after)
