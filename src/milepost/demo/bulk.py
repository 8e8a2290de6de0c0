"""Bulk writes of the demo importer: batched ORM inserts and updates, and plain multi-row
``INSERT`` for the large synthetic tables.

Every insert of the importer goes through :func:`bulk_create` or :func:`insert_rows`, called as
``bulk.bulk_create`` / ``bulk.insert_rows`` so a test can make one of them fail and check that
nothing is left behind. Not for code that handles a few rows: use the ORM.
"""

from __future__ import annotations

from typing import Any

from django.db import connection, models

BATCH = 2_000


def bulk_create(model: type[models.Model], objs: list[Any]) -> list[Any]:
    """``bulk_create`` in batches (one place to batch, and to fail in tests)."""
    if not objs:
        return []
    return model.objects.bulk_create(objs, batch_size=BATCH)


def bulk_update(model: type[models.Model], objs: list[Any], fields: list[str]) -> None:
    if objs:
        model.objects.bulk_update(objs, fields, batch_size=BATCH)


def insert_rows(model: type[models.Model], fields: list[str], rows: list[tuple[Any, ...]]) -> None:
    """Rows of the large synthetic tables, written without a model instance per row.

    ``bulk_create`` builds and prepares a model instance per row, which made the history most
    of the demo's load time; here values arrive already adapted for the database. PostgreSQL
    takes them by ``COPY`` (psycopg's ``copy.write_row``, the same adapters as parameters): a
    parameterised ``executemany`` sends the 740,000 rows of the demo one statement each, which
    took 60 of the import's 90 s. SQLite gets ``INSERT … VALUES`` with ``executemany``.
    """
    if not rows:
        return
    meta = model._meta
    qn = connection.ops.quote_name
    columns = ", ".join(qn(meta.get_field(f).column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    # Identifiers come from model metadata, values are parameters: nothing from the input.
    table = qn(meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608
        for i in range(0, len(rows), 10_000):
            cursor.executemany(sql, rows[i : i + 10_000])
