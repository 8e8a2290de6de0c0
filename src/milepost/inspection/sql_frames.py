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
from dataclasses import dataclass
from typing import Any

import polars as pl
from django.db import connection
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


@dataclass(frozen=True)
class RawQuery:
    """SQL composed around ORM-generated SQL (derived tables the ORM cannot express)."""

    sql: str
    params: list[Any]


def read_frame(queryset: QuerySet[Any] | RawQuery, schema: dict[str, Any]) -> pl.DataFrame:
    """Rows of ``queryset`` (a ``values_list`` with one entry per schema column, in order)."""
    if isinstance(queryset, RawQuery):
        sql, params = queryset.sql, tuple(queryset.params)
    else:
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
