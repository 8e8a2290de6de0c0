"""Exit criteria, evidence and control for a whole pipeline, in one wide frame.

The same semantics as :func:`milepost.engine.evidence.combine` and
:func:`milepost.engine.criteria.verified_stage` (a property test holds them together), written
for scale: every criterion is a *column* of the deal's row (a Kleene boolean: true met, false
not met, null unknown), evidence arrives pivoted to one small integer per criterion, and the
verified stage, control and the count of unmet criteria are horizontal expressions over those
columns. No frame with a row per (deal, criterion) is built unless asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from milepost.engine.criteria_frames import STATUS, CriteriaPlan, status_of
from milepost.engine.evidence import LEVEL_RANK, CriterionMeta
from milepost.engine.frames import collect, rows_of

REJECTED_CODE = -1


@dataclass(frozen=True)
class StageCriteria:
    """The open stages of one process, in order, and the criteria of each (ids)."""

    stage_keys: list[str]
    criteria: list[list[CriterionMeta]]

    @property
    def flat(self) -> list[tuple[int, CriterionMeta]]:
        return [(i, m) for i, metas in enumerate(self.criteria) for m in metas]


def evidence_codes(
    evidence: pl.DataFrame | pl.LazyFrame, criterion_ids: Sequence[str]
) -> pl.DataFrame:
    """One row per deal with evidence, one Int8 column per criterion id.

    The code is the level's rank (1 rep, 2 manager, 3 buyer) for active evidence, -1 for
    rejected, null for none. ``evidence``: ``opportunity_id, criterion_id, state, level``
    (withdrawn evidence already left out).
    """
    ids = list(criterion_ids)
    code = (
        pl.when(pl.col("state") == "rejected")
        .then(pl.lit(REJECTED_CODE))
        .otherwise(pl.col("level").replace_strict(LEVEL_RANK, default=None))
        .cast(pl.Int8)
    )
    rows = collect(
        evidence.lazy()
        .filter(pl.col("criterion_id").is_in(ids))
        .select("opportunity_id", "criterion_id", code.alias("code")),
        rows=rows_of(evidence),
    )
    schema = {"opportunity_id": pl.Int64, **{f"__ev_{cid}": pl.Int8 for cid in ids}}
    if rows.is_empty():
        return pl.DataFrame(schema=schema)
    wide = rows.pivot(on="criterion_id", index="opportunity_id", values="code")
    missing = [cid for cid in ids if cid not in wide.columns]
    wide = wide.with_columns(pl.lit(None, dtype=pl.Int8).alias(cid) for cid in missing)
    return wide.select(
        pl.col("opportunity_id").cast(pl.Int64),
        *(pl.col(cid).cast(pl.Int8).alias(f"__ev_{cid}") for cid in ids),
    )


def _criterion_expr(plan: CriteriaPlan, index: int, meta: CriterionMeta) -> pl.Expr:
    """The final Kleene status of one criterion: rule and evidence combined."""
    code = pl.col(f"__ev_{meta.criterion_id}")
    rule = plan.expressions[index] if meta.has_rule else pl.lit(True)
    if meta.needs_evidence:
        evidence = (
            pl.when(code.is_null())
            .then(pl.lit(False))
            .when(code >= LEVEL_RANK[meta.verifier])
            .then(pl.lit(True))
            .otherwise(pl.lit(None, dtype=pl.Boolean))
        )
        combined = rule & evidence
    else:
        combined = rule
    return (
        pl.when(code == REJECTED_CODE)
        .then(pl.lit(False))
        .otherwise(combined)
        .alias(f"__m_{meta.criterion_id}")
    )


def control_frame(
    wide: pl.DataFrame | pl.LazyFrame,
    plan: CriteriaPlan,
    stages: StageCriteria,
    evidence: pl.DataFrame,
    *,
    with_statuses: bool = False,
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """Control for every deal of one process version.

    ``wide``: the deals with every aggregate column of ``plan`` plus ``stage_key`` and
    ``stage_kind`` (open / won / lost). ``plan`` was built from the criteria in the order of
    ``stages.flat``. ``evidence``: from :func:`evidence_codes`.

    Returns ``(control, statuses)``: control is ``opportunity_id, verified_stage,
    under_control, first_gap, unmet_before``; statuses (only ``with_statuses``) is the long
    ``opportunity_id, criterion_id, status`` frame, for tests and single-deal views.
    """
    flat = stages.flat
    if [m.criterion_id for _, m in flat] != plan.criterion_ids:
        raise ValueError("the plan's criteria are not the stages' criteria in order")
    keys = stages.stage_keys
    n_open = len(keys)
    position = {key: i for i, key in enumerate(keys)}
    met_columns = [f"__m_{m.criterion_id}" for _, m in flat]
    claimed = (
        pl.when(pl.col("stage_kind") == "won")
        .then(pl.lit(n_open))
        .when(pl.col("stage_kind") == "lost")
        .then(pl.lit(-1))
        .otherwise(
            pl.col("stage_key").replace_strict(position, default=None, return_dtype=pl.Int64)
        )
    )
    frame = (
        wide.lazy()
        .join(evidence.lazy(), on="opportunity_id", how="left")
        .with_columns(
            pl.lit(None, dtype=pl.Int8).alias(f"__ev_{m.criterion_id}")
            for _, m in flat
            if f"__ev_{m.criterion_id}" not in evidence.columns
        )
        .with_columns(
            [_criterion_expr(plan, i, m) for i, (_, m) in enumerate(flat)]
            + [claimed.alias("__claimed")]
        )
    )
    # A stage is passed when every one of its criteria is met (unknown is not met).
    stage_ok = [
        pl.all_horizontal([pl.col(f"__m_{m.criterion_id}").fill_null(False) for m in metas])
        if metas
        else pl.lit(True)
        for metas in stages.criteria
    ]
    gap: pl.Expr = pl.lit(None, dtype=pl.Int64)
    for index in reversed(range(n_open)):
        gap = pl.when(~stage_ok[index]).then(pl.lit(index, dtype=pl.Int64)).otherwise(gap)
    unmet_before = pl.sum_horizontal(
        [
            (
                ~pl.col(f"__m_{m.criterion_id}").fill_null(False)
                & (pl.lit(stage) < pl.col("__claimed"))
            ).cast(pl.Int64)
            for stage, m in flat
        ]
        or [pl.lit(0, dtype=pl.Int64)]
    )
    frame = frame.with_columns(gap.alias("__gap")).with_columns(
        pl.col("__gap").fill_null(n_open).alias("__reached"),
        unmet_before.alias("unmet_before"),
    )
    size = rows_of(wide)
    unknown_claim = collect(
        frame.filter(pl.col("__claimed").is_null()).select("opportunity_id", "stage_key").first(),
        rows=size,
    )
    if unknown_claim.height:
        raise ValueError(
            f"claimed stage {unknown_claim['stage_key'][0]!r} is not an open stage "
            f"(opportunity {unknown_claim['opportunity_id'][0]})"
        )
    by_index = dict(enumerate(keys))
    collected = collect(frame, rows=size)
    control = collected.select(
        "opportunity_id",
        pl.min_horizontal("__reached", pl.lit(n_open - 1))
        .replace_strict(by_index, return_dtype=pl.String)
        .alias("verified_stage"),
        (pl.col("__reached") >= pl.col("__claimed")).alias("under_control"),
        pl.col("__gap")
        .replace_strict(by_index, default=None, return_dtype=pl.String)
        .alias("first_gap"),
        pl.col("unmet_before"),
    )
    statuses = None
    if with_statuses:
        statuses = _long_statuses(collected, met_columns, [m.criterion_id for _, m in flat])
    return control, statuses


def _long_statuses(frame: pl.DataFrame, columns: list[str], ids: list[str]) -> pl.DataFrame:
    schema: dict[str, Any] = {
        "opportunity_id": pl.Int64,
        "criterion_id": pl.String,
        "status": STATUS,
    }
    if not columns:
        return pl.DataFrame(schema=schema)
    return (
        frame.select("opportunity_id", *columns)
        .unpivot(index="opportunity_id", variable_name="column", value_name="met")
        .select(
            pl.col("opportunity_id"),
            pl.col("column")
            .replace_strict(dict(zip(columns, ids, strict=True)), return_dtype=pl.String)
            .alias("criterion_id"),
            status_of(pl.col("met")).alias("status"),
        )
    )
