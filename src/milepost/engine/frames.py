"""Running a lazy Polars query with the engine that suits its size.

Polars' streaming engine (its default since 2.0) costs about 0.2-0.5 ms to start a query,
which on a deal page's one-row frames is most of the work of a collect, and a deal page runs
several. From a few hundred thousand rows it is the faster engine (2x at a million rows on
2 cores, ``bin/bench`` inspection), so large frames keep it.
"""

from __future__ import annotations

import polars as pl

# Below this many input rows the in-memory engine is faster (measured on 2 cores, Polars
# 2.1: 1.9 vs 4.3 ms at 10k rows, 16 vs 19 ms at 200k, 88 vs 39 ms at 1M).
STREAMING_FROM_ROWS = 400_000


def collect(frame: pl.LazyFrame, *, rows: int | None) -> pl.DataFrame:
    """``frame`` collected; ``rows``: the size of its input (None: unknown, Polars decides)."""
    if rows is not None and rows < STREAMING_FROM_ROWS:
        return frame.collect(engine="in-memory")
    return frame.collect()


def rows_of(frame: pl.DataFrame | pl.LazyFrame) -> int | None:
    """The height of an eager frame; None for a lazy one (not known without running it)."""
    return frame.height if isinstance(frame, pl.DataFrame) else None
