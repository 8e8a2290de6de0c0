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
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import polars as pl
from django.db import connection, transaction
from django.db.models import QuerySet

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


@contextmanager
def consistent_reads() -> Iterator[None]:
    """Run several reads as one consistent, read-only snapshot where the database allows it.

    On PostgreSQL, an outermost transaction is REPEATABLE READ (every query sees the same
    snapshot: no deal counted in one aggregate and missing from the next) and JIT compilation,
    which costs more than it saves on these one-pass aggregates, is off for it. Inside an
    existing transaction the settings apply to it (``SET LOCAL``). On SQLite each statement
    reads its own WAL snapshot: a transaction would take the write lock (the project uses
    ``BEGIN IMMEDIATE``) and block writers for the whole inspection.
    """
    if connection.vendor != "postgresql":
        yield
        return
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        with connection.cursor() as cursor:
            if outermost:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SET LOCAL jit = off")
        yield
