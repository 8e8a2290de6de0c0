"""The engine choice of :func:`milepost.engine.frames.collect`: same answer, either engine."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from milepost.engine import frames


def _query(n: int) -> tuple[pl.DataFrame, pl.LazyFrame]:
    data = pl.DataFrame({"deal": [i % 7 for i in range(n)], "amount": [float(i) for i in range(n)]})
    query = (
        data.lazy()
        .join(data.lazy().group_by("deal").agg(pl.col("amount").sum().alias("total")), on="deal")
        .filter(pl.col("amount") > 3)
        .sort("deal", "amount")
    )
    return data, query


@pytest.mark.parametrize(
    ("rows", "engine"),
    [
        (10, "in-memory"),
        (frames.STREAMING_FROM_ROWS - 1, "in-memory"),
        (frames.STREAMING_FROM_ROWS, "auto"),
        (None, "auto"),
    ],
)
def test_small_inputs_run_in_memory_large_or_unknown_let_polars_choose(monkeypatch, rows, engine):
    seen: list[Any] = []
    original = pl.LazyFrame.collect

    def spy(self: pl.LazyFrame, *args: Any, **kwargs: Any) -> pl.DataFrame:
        seen.append(kwargs.get("engine", "auto"))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(pl.LazyFrame, "collect", spy)
    frames.collect(pl.LazyFrame({"a": [1]}), rows=rows)
    assert seen == [engine]


def test_both_engines_give_the_same_frame():
    data, query = _query(1_000)
    assert frames.collect(query, rows=data.height).equals(query.collect(engine="streaming"))
    assert frames.rows_of(data) == 1_000
    assert frames.rows_of(data.lazy()) is None
