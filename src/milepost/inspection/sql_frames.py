"""Read a queryset into a Polars frame without building a Python object per row and column.

Inspection reads a million-row pipeline; Django's model and ``values_list`` machinery costs
microseconds per value, which at that size is most of the time. Here the queryset is compiled to
SQL by Django (so its row-level scoping and parameters stay exactly as written), then:

* on PostgreSQL, ``COPY (query) TO STDOUT (FORMAT csv)`` streams text that Polars parses in
  native code;
* on SQLite, the cursor's rows are transposed into columns once and cast by Polars.

Values arrive as text (PostgreSQL) or as SQLite's storage classes and are cast to the declared
schema here, in one place: datetimes become ``Datetime("us", "UTC")``, dates ``Date``, decimals
``Decimal(38, scale)``, booleans ``Boolean``.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

import polars as pl
from django.db import connection, transaction
from django.db.models import QuerySet

T = TypeVar("T")
_PG_DATETIME = "%Y-%m-%d %H:%M:%S%.f%#z"
_SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S%.f"


def _cast(column: pl.Expr, dtype: pl.DataType, *, vendor: str) -> pl.Expr:
    if isinstance(dtype, pl.Datetime):
        if vendor == "postgresql":
            return column.str.to_datetime(_PG_DATETIME, time_zone="UTC")
        return column.str.to_datetime(_SQLITE_DATETIME, time_unit="us").dt.replace_time_zone("UTC")
    if dtype == pl.Date:
        return column.str.to_date("%Y-%m-%d")
    if dtype == pl.Boolean:
        if vendor == "postgresql":
            return column == "t"
        return column.cast(pl.Int64) != 0
    return column.cast(dtype)


def _raw_dtype(dtype: pl.DataType, vendor: str) -> Any:
    """How a column arrives before casting."""
    if vendor == "postgresql":
        return pl.String
    if isinstance(dtype, pl.Datetime) or dtype in (pl.Date, pl.String):
        return pl.String
    if isinstance(dtype, pl.Decimal) or dtype == pl.Float64:
        return pl.Float64
    return pl.Int64


def read_frame(queryset: QuerySet[Any], schema: dict[str, Any]) -> pl.DataFrame:
    """Rows of ``queryset`` (a ``values_list`` with one entry per schema column, in order)."""
    sql, params = queryset.query.sql_with_params()
    names = list(schema)
    vendor = connection.vendor
    with connection.cursor() as cursor:
        if vendor == "postgresql":
            buffer = io.BytesIO()
            raw = cursor.cursor  # the psycopg cursor under Django's wrapper
            with raw.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)", params) as copy:
                for block in copy:
                    buffer.write(block)
            if buffer.tell() == 0:
                return pl.DataFrame(schema=schema)
            buffer.seek(0)
            frame = pl.read_csv(
                buffer,
                has_header=False,
                new_columns=names,
                schema={name: pl.String for name in names},
            )
        else:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
            columns = list(zip(*rows, strict=True)) if rows else [()] * len(names)
            frame = pl.DataFrame(
                [
                    pl.Series(
                        name,
                        values,
                        dtype=_raw_dtype(dtype, vendor),
                        strict=False,
                    )
                    for name, dtype, values in zip(names, schema.values(), columns, strict=True)
                ]
            )
    return frame.select(
        _cast(pl.col(name), dtype, vendor=vendor).alias(name) for name, dtype in schema.items()
    )


class Reads:
    """Runs a batch of reads, in parallel where it is safe, on one snapshot where possible."""

    def __init__(self, snapshot: str | None, threads: int):
        self.snapshot = snapshot
        self.threads = threads

    def run(self, tasks: Sequence[Callable[[], T]]) -> list[T]:
        """Results of ``tasks`` in order. Parallel tasks run on their own connections."""
        if self.threads <= 1 or len(tasks) <= 1:
            return [task() for task in tasks]
        with ThreadPoolExecutor(max_workers=self.threads) as pool:
            return list(pool.map(self._in_thread, tasks))

    def _in_thread(self, task: Callable[[], T]) -> T:
        # A worker thread has its own connection (Django's are per thread); close it after.
        try:
            if connection.vendor != "postgresql":
                return task()
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                cursor.execute("SET TRANSACTION SNAPSHOT %s", [self.snapshot])
                cursor.execute("SET LOCAL jit = off")
                return task()
        finally:
            connection.close()


@contextmanager
def consistent_reads(threads: int = 1) -> Iterator[Reads]:
    """Run several reads as one consistent, read-only snapshot where the database allows it.

    On PostgreSQL, an outermost transaction is REPEATABLE READ (every query sees the same
    snapshot: no deal counted in one aggregate and missing from the next) and JIT compilation,
    which costs more than it saves on these one-pass aggregates, is off for it. With
    ``threads > 1`` the snapshot is exported and worker connections import it, so parallel
    reads see exactly the same data. Inside an existing transaction (whose own uncommitted
    rows other connections cannot see) reads stay on this connection, one after the other.

    On SQLite each statement reads its own WAL snapshot: a transaction would take the write
    lock (the project uses ``BEGIN IMMEDIATE``) and block writers for the whole inspection.
    Parallel reads there are separate connections, each on its own snapshot: a write landing
    between them can make one deal's aggregates disagree for that run, which a single-node
    embedded deployment accepts for the speed.
    """
    outermost = not connection.in_atomic_block
    if connection.vendor != "postgresql":
        yield Reads(None, threads if outermost else 1)
        return
    with transaction.atomic():
        snapshot = None
        with connection.cursor() as cursor:
            if outermost:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SET LOCAL jit = off")
            if outermost and threads > 1:
                cursor.execute("SELECT pg_export_snapshot()")
                (snapshot,) = cursor.fetchone()
        yield Reads(snapshot, threads if snapshot else 1)
