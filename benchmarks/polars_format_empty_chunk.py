"""Standalone reproduction: ``pl.format`` panics on a column with an empty chunk (Polars 2.1.0).

``python benchmarks/polars_format_empty_chunk.py`` (no Milepost imports). Exit status 1 while
the bug is there, 0 once a Polars release fixes it.

Polars' ``str_format`` kernel (polars-ops, behind ``pl.format``) starts at index 0 of an
argument's first chunk, and moves to the next chunk only after reading a value, without
checking that the chunk is not empty. A zero-length chunk first or in the middle makes it read
past the end: ``assertion failed: i < self.len()`` in polars-arrow's ``binview``. A trailing
empty chunk is harmless (it is never reached). Known upstream as pola-rs/polars#25339 and
#25525 (open); ``pl.concat_str`` does not have the bug.

How inspection met it (``milepost.engine.signals.compute_signals``, ``bin/bench inspection``
at 30,000 deals and more): the deal facts come out of a streaming join in two chunks. The
streaming engine slices its input into ``num_threads`` morsels (below 100,000 rows per
thread), so one morsel can hold the last rows of the first chunk followed by rows of the
second. A signal's filter drops every deal of that short first piece and keeps a zero-length
chunk in front; its ``pl.format`` reason then panics. The in-memory engine's filter left no
empty chunk, which is why ``collect(engine="in-memory")`` passed.
"""

from __future__ import annotations

import sys
from typing import Literal

import polars as pl

Engine = Literal["in-memory", "streaming"]


def _attempt(label: str, query: pl.LazyFrame, engine: Engine) -> bool:
    try:
        result = query.collect(engine=engine)
    except BaseException as error:  # a Rust panic is a BaseException (PanicException)
        print(f"PANIC  {label}, {engine}: {type(error).__name__}: {error}")
        return False
    print(f"ok     {label}, {engine}: {result.height} rows")
    return True


def main() -> int:
    print(f"polars {pl.__version__}")
    # 1. The kernel on a column whose first chunk is empty (Series.filter keeps it). Which
    #    engine hands the kernel the column as it is depends on the thread count: try both.
    x = pl.concat([pl.Series("x", [1, 2, 3]), pl.Series("x", [4, 5, 6, 7])], rechunk=False)
    empty_first = x.filter(pl.Series([False, False, False, True, True, True, True]))
    assert empty_first.chunk_lengths() == [0, 4]
    frame = pl.LazyFrame({"x": empty_first})
    kernel = True
    for engine in ("in-memory", "streaming"):
        kernel &= _attempt(
            "pl.format on chunks [0, 4]", frame.select(pl.format("n {}", pl.col("x"))), engine
        )
        _attempt(
            "pl.concat_str on chunks [0, 4]",
            frame.select(pl.concat_str(pl.lit("n "), pl.col("x"))),
            engine,
        )

    # 2. As inspection hits it: a two-chunk frame, filter then format, streaming engine.
    #    A 3-row first chunk, none of it kept, is at the front of the first morsel whatever
    #    the thread count (the deal facts were chunks [2526, 2498]: two threads cut at 2512).
    deals = pl.concat(
        [
            pl.DataFrame({"id": [1, 2, 3], "pushes": [0, 0, 0]}),
            pl.DataFrame({"id": range(4, 5004), "pushes": [1, 2, 3, 4] * 1250}),
        ],
        rechunk=False,
    )
    pushed = pl.col("pushes") > 0
    reason = pl.format("close date pushed {} times", pl.col("pushes"))
    query = deals.lazy().filter(pushed).select(reason)
    streaming = _attempt("filter -> pl.format", query, "streaming")
    _attempt("filter -> pl.format", query, "in-memory")
    _attempt(
        "filter -> pl.format, rechunked input",
        deals.rechunk().lazy().filter(pushed).select(reason),
        "streaming",
    )
    concat = pl.concat_str(pl.lit("close date pushed "), pl.col("pushes"), pl.lit(" times"))
    _attempt("filter -> pl.concat_str", deals.lazy().filter(pushed).select(concat), "streaming")
    return 0 if kernel and streaming else 1


if __name__ == "__main__":
    sys.exit(main())
