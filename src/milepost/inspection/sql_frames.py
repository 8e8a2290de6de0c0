"""Read a queryset into a Polars frame without building a Python object per row and column.

Inspection reads a million-row pipeline; Django's model and ``values_list`` machinery costs
microseconds per value, which at that size is most of the time. Here the queryset is compiled to
SQL by Django (so its row-level scoping and parameters stay exactly as written), then:

* on PostgreSQL, inside :func:`consistent_reads` at the outermost level, a second, native
  connection (Apache Arrow's ADBC driver) imports the reading transaction's snapshot and
  streams binary ``COPY`` straight into Arrow columns: no Python per row at all (psycopg's
  ``COPY`` hands Python one message per row, which at millions of rows was most of the read);
* otherwise on PostgreSQL (inside a caller's transaction, whose uncommitted rows another
  connection cannot see), ``COPY (query) TO STDOUT (FORMAT csv)`` on Django's connection,
  parsed by Polars in native code;
* on SQLite, always on Django's connection: the cursor's rows are transposed into columns
  once and cast by Polars. (ADBC's SQLite driver links its own copy of SQLite; two copies in
  one process on one database file break SQLite's locking: closing the native connection
  deleted the WAL under Django's open connection, after which other connections failed with
  "disk I/O error" and did not see Django's writes. SQLite documents this as a way to corrupt
  a database: https://www.sqlite.org/howtocorrupt.html, "multiple copies of SQLite linked
  into the same application". See docs/inspection.md.)

Values arrive typed (Arrow), as text (PostgreSQL ``COPY``) or as SQLite's storage classes and
are cast to the declared schema here: datetimes become ``Datetime("us", "UTC")``, dates
``Date``, decimals ``Decimal(38, scale)``, booleans ``Boolean``.
"""

from __future__ import annotations

import contextlib
import io
import threading
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Self, TypeVar

import polars as pl
import pyarrow as pa
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


def _cast_typed(column: pl.Expr, have: pl.DataType, want: Any) -> pl.Expr:
    """A typed Arrow column to the declared schema (text only for ``numeric``)."""
    if isinstance(want, pl.Datetime) or want == pl.Datetime:
        if isinstance(have, pl.Datetime) and have.time_zone is None:
            return column.dt.replace_time_zone("UTC").dt.cast_time_unit("us")
        return column.dt.convert_time_zone("UTC").dt.cast_time_unit("us")
    return column.cast(want)


def _raw_dtype(dtype: pl.DataType, vendor: str) -> Any:
    """How a column arrives before casting."""
    if vendor == "postgresql":
        return pl.String
    if isinstance(dtype, pl.Datetime) or dtype in (pl.Date, pl.String):
        return pl.String
    if isinstance(dtype, pl.Decimal) or dtype == pl.Float64:
        return pl.Float64
    return pl.Int64


class _NativeReader:
    """One native (ADBC) connection per thread and database, kept between inspections like
    Django's persistent connections, closed by :func:`close_native_readers`."""

    _local: threading.local  # one per subclass

    def __init_subclass__(cls) -> None:
        cls._local = threading.local()

    def __init__(self, key: str, native_connection: Any):
        self.key = key
        self.connection = native_connection

    @classmethod
    def default_key(cls) -> str:
        raise NotImplementedError

    @classmethod
    def for_default_database(cls) -> Self:
        key = cls.default_key()
        reader: Self | None = getattr(cls._local, "reader", None)
        if reader is None or reader.key != key:
            if reader is not None:
                reader.close()
            reader = cls._local.reader = cls(key)  # type: ignore[call-arg]
        return reader

    @classmethod
    def discard(cls) -> None:
        reader: _NativeReader | None = getattr(cls._local, "reader", None)
        cls._local.reader = None
        if reader is not None:
            reader.close()

    def close(self) -> None:
        with contextlib.suppress(Exception):  # already broken: nothing left to release
            self.connection.close()


class ArrowReader(_NativeReader):
    """Reads query results as Arrow columns over a native ADBC connection (PostgreSQL).

    One per thread, kept open between inspections like Django's own persistent connection;
    :func:`consistent_reads` begins a read-only transaction on the reading snapshot before use
    and ends it after.
    """

    def __init__(self, uri: str):
        import adbc_driver_postgresql.dbapi as adbc

        super().__init__(uri, adbc.connect(uri, autocommit=True))

    @classmethod
    def default_key(cls) -> str:
        return _libpq_uri(connection.settings_dict)

    def execute(self, sql: str) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(sql)

    def begin(self, snapshot: str) -> None:
        self.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        # The snapshot id comes from pg_export_snapshot(), never from input.
        self.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
        self.execute("SET LOCAL jit = off")

    def end(self) -> None:
        self.execute("ROLLBACK")

    def read(self, sql: str) -> pa.Table:
        with self.connection.cursor() as cursor:
            cursor.execute(sql)
            table: pa.Table = cursor.fetch_arrow_table()
        return _plain_storage(table)


def _plain_storage(table: pa.Table) -> pa.Table:
    """PostgreSQL types Arrow has no match for (``numeric``) arrive as an opaque extension over
    their text form: keep the text; the schema cast turns it into a Decimal."""
    for index, field in enumerate(table.schema):
        if isinstance(field.type, pa.BaseExtensionType):
            column = table.column(index)
            plain = pa.chunked_array(
                [chunk.storage for chunk in column.chunks], type=field.type.storage_type
            )
            table = table.set_column(index, field.name, plain)
    return table


def _libpq_uri(settings: dict[str, Any]) -> str:
    quote = urllib.parse.quote
    user = quote(settings.get("USER") or "", safe="")
    password = settings.get("PASSWORD") or ""
    auth = f"{user}:{quote(password, safe='')}@" if password else (f"{user}@" if user else "")
    host = settings.get("HOST") or "localhost"
    port = f":{settings['PORT']}" if settings.get("PORT") else ""
    return f"postgresql://{auth}{quote(host, safe='')}{port}/{quote(settings['NAME'], safe='')}"


def close_native_readers() -> None:
    """Close this thread's native readers (end of a request, end of a test)."""
    ArrowReader.discard()


# Set by consistent_reads while a native reader serves this thread's reads.
_ARROW: ContextVar[ArrowReader | None] = ContextVar("milepost_arrow_reader", default=None)


def _arrow_frame(
    reader: ArrowReader, sql: str, params: Sequence[Any], names: list[str]
) -> pl.DataFrame:
    # Parameters are bound by psycopg's own client-side quoting (Django's cursor), so the
    # native connection runs exactly the statement Django compiled.
    with connection.cursor() as cursor:
        statement = cursor.mogrify(sql, params)
    frame = pl.from_arrow(reader.read(statement))
    assert isinstance(frame, pl.DataFrame)
    return frame.rename(dict(zip(frame.columns, names, strict=True)))


def read_frame(queryset: QuerySet[Any], schema: dict[str, Any]) -> pl.DataFrame:
    """Rows of ``queryset`` (a ``values_list`` with one entry per schema column, in order).

    Through the native reader :func:`consistent_reads` set for this thread, else through
    Django's connection.
    """
    sql, params = queryset.query.sql_with_params()
    reader = _ARROW.get()
    if reader is None:
        return _django_frame(sql, params, schema)
    frame = _arrow_frame(reader, sql, params, list(schema))
    return frame.select(
        _cast_typed(pl.col(name), frame.schema[name], dtype).alias(name)
        for name, dtype in schema.items()
    )


def _django_frame(sql: str, params: Sequence[Any], schema: dict[str, Any]) -> pl.DataFrame:
    """The fallback: the rows on Django's own connection (``COPY`` to CSV on PostgreSQL, the
    cursor's rows transposed into columns on SQLite), cast to ``schema``."""
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
            if connection.vendor != "postgresql" or self.snapshot is None:
                return task()
            # The worker's Django connection and its own native one, both on the same
            # exported snapshot (a task may also run a small ORM query).
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                cursor.execute("SET TRANSACTION SNAPSHOT %s", [self.snapshot])
                cursor.execute("SET LOCAL jit = off")
                with _arrow_reads(self.snapshot):
                    return task()
        finally:
            # The pool's threads end with the run: close what they opened.
            ArrowReader.discard()
            connection.close()


@contextmanager
def consistent_reads(threads: int = 1, *, native: bool = True) -> Iterator[Reads]:
    """Run several reads as one consistent, read-only snapshot where the database allows it.

    ``native`` (outermost only; PostgreSQL only): read through a native Arrow connection,
    which pays off from thousands of rows; a handful of deals reads faster on Django's
    connection.

    On PostgreSQL, an outermost transaction is REPEATABLE READ (every query sees the same
    snapshot: no deal counted in one aggregate and missing from the next) and JIT compilation,
    which costs more than it saves on these one-pass aggregates, is off for it. With
    ``threads > 1`` the snapshot is exported and worker connections import it, so parallel
    reads see exactly the same data. Inside an existing transaction (whose own uncommitted
    rows other connections cannot see) reads stay on this connection, one after the other.

    On SQLite each statement reads its own WAL snapshot: a transaction would take the write
    lock (the project uses ``BEGIN IMMEDIATE``) and block writers for the whole inspection.
    Parallel reads are separate connections, each statement on its own snapshot: a write
    landing between two reads can make one deal's aggregates disagree for that run, which a
    single-node embedded deployment accepts for the speed.
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
            if outermost:
                cursor.execute("SELECT pg_export_snapshot()")
                (snapshot,) = cursor.fetchone()
        if snapshot is None or not native:
            yield Reads(None, 1)
            return
        with _arrow_reads(snapshot):
            yield Reads(snapshot, threads)


@contextmanager
def _arrow_reads(snapshot: str) -> Iterator[None]:
    """Route this thread's :func:`read_frame` calls through the native Arrow connection, on
    ``snapshot``, for the duration of the block."""
    reader = ArrowReader.for_default_database()
    try:
        reader.begin(snapshot)
    except Exception:
        # A connection that went away between inspections: open a fresh one, once.
        ArrowReader.discard()
        reader = ArrowReader.for_default_database()
        reader.begin(snapshot)
    token = _ARROW.set(reader)
    try:
        yield
    finally:
        _ARROW.reset(token)
        try:
            reader.end()
        except Exception:  # a broken connection is replaced next time
            ArrowReader.discard()
