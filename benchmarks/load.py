"""Bulk-load the synthetic pipeline of :mod:`benchmarks.scale_data` into a database.

Two layers:

- :func:`load_pipeline` writes generated batches through an open Django connection: PostgreSQL
  with ``COPY … FROM STDIN`` (CSV blocks written by Polars), SQLite with ``executemany`` in one
  transaction. Ids are explicit; PostgreSQL sequences are moved past them afterwards. This is
  what the tests call on the test database, and what the benchmark calls on its own databases.
- :func:`prepare_target` / :func:`ensure_loaded` manage the benchmark databases
  (``var/bench/inspection.sqlite3`` and PostgreSQL ``milepost_bench``): a ``bench_meta`` table
  records the generator parameters, so a rerun with the same parameters skips generation;
  ``reload`` (or different parameters) drops the database and starts afresh.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from benchmarks.scale_data import (
    Batch,
    ScaleConfig,
    generate,
    history_params,
    id_bases,
    process_refs,
)

REPO = Path(__file__).resolve().parent.parent
SQLITE_PATH = REPO / "var" / "bench" / "inspection.sqlite3"
PG_URL = os.environ.get(
    "MILEPOST_BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/milepost_bench"
)
META_TABLE = "bench_meta"
TARGETS = ("sqlite", "postgres")
SLICE_ROWS = 200_000  # rows per COPY block / executemany call (bounds the wire copy in memory)


def database_url(target: str) -> str:
    if target == "sqlite":
        return f"sqlite:///{SQLITE_PATH}"
    if target == "postgres":
        return PG_URL
    raise ValueError(f"unknown target {target!r}; expected one of {TARGETS}")


# ---------------------------------------------------------------------------------------------
# Writing frames


def _models_by_table() -> dict[str, Any]:
    from django.apps import apps

    tables: dict[str, Any] = {}
    for model in apps.get_models(include_auto_created=True):
        tables[model._meta.db_table] = model
    return tables


def _check_columns(model: Any, frame: pl.DataFrame) -> None:
    """Every NOT NULL column must be in the frame (the loader bypasses model defaults)."""
    columns = set(frame.columns)
    unknown = columns - {f.column for f in model._meta.concrete_fields}
    if unknown:
        raise ValueError(f"{model._meta.db_table}: no such columns {sorted(unknown)}")
    missing = [
        f.column for f in model._meta.concrete_fields if not f.null and f.column not in columns
    ]
    if missing:
        raise ValueError(f"{model._meta.db_table}: required columns missing {missing}")


def _wire(frame: pl.DataFrame, vendor: str) -> pl.DataFrame:
    """Datetimes (naive, meaning UTC) and dates as the text each database stores or parses."""
    stamp = "%Y-%m-%d %H:%M:%S+00" if vendor == "postgresql" else "%Y-%m-%d %H:%M:%S"
    return frame.with_columns(
        pl.col(pl.Datetime).dt.strftime(stamp),
        pl.col(pl.Date).dt.strftime("%Y-%m-%d"),
    )


def write_frame(connection: Any, table: str, frame: pl.DataFrame) -> None:
    """Insert ``frame`` (column names = table columns) into ``table`` as fast as the backend
    allows. Runs inside the caller's transaction."""
    if frame.height == 0:
        return
    qn = connection.ops.quote_name
    columns = ", ".join(qn(c) for c in frame.columns)
    wire = _wire(frame, connection.vendor)
    connection.ensure_connection()
    raw = connection.connection
    if connection.vendor == "postgresql":
        # Identifiers come from our own frames (checked against the model), never from input.
        sql = f"COPY {qn(table)} ({columns}) FROM STDIN (FORMAT csv, NULL '\\N')"
        with raw.cursor() as cursor, cursor.copy(sql) as copy:
            for part in wire.iter_slices(SLICE_ROWS):
                copy.write(part.write_csv(include_header=False, null_value="\\N").encode())
    elif connection.vendor == "sqlite":
        marks = ", ".join("?" * frame.width)
        sql = f"INSERT INTO {qn(table)} ({columns}) VALUES ({marks})"  # noqa: S608
        cursor = raw.cursor()
        try:
            for part in wire.iter_slices(SLICE_ROWS):
                cursor.executemany(sql, part.iter_rows())
        finally:
            cursor.close()
    else:  # pragma: no cover - Milepost supports these two
        raise NotImplementedError(connection.vendor)


@dataclass
class LoadStats:
    """Rows written per table and where the time went (seconds)."""

    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def add_time(self, step: str, seconds: float) -> None:
        self.seconds[step] = self.seconds.get(step, 0.0) + seconds


def load_pipeline(
    connection: Any,
    config: ScaleConfig,
    *,
    fast: bool = False,
    on_batch: Callable[[Batch], None] | None = None,
    progress: Callable[[str], None] | None = None,
) -> LoadStats:
    """Generate ``config``'s pipeline and write it through ``connection`` (the default
    ``new_business`` process must be loaded). ``fast`` (benchmark databases only, outside any
    transaction) turns off SQLite's journal and syncs, and PostgreSQL's deferred foreign-key
    checks, for the duration of the load.

    ``on_batch`` sees every generated batch (tests compare them with what was written).
    """
    from django.core.management.color import no_style
    from django.db import transaction

    from milepost.pipeline.facts import deal_facts_refresh

    stats = LoadStats()
    models = _models_by_table()
    params = history_params(config)
    refs = process_refs(params)
    bases = id_bases(connection)
    first_deal = bases.next_id["pipeline_opportunity"]
    sqlite_fast = fast and connection.vendor == "sqlite"
    pg_fast = fast and connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if sqlite_fast:
            cursor.execute("PRAGMA journal_mode=OFF")
            cursor.execute("PRAGMA synchronous=OFF")
        if pg_fast:
            # Django's foreign keys are DEFERRABLE INITIALLY DEFERRED: every copied row would
            # queue one check per key, fired at commit. The generator makes consistent ids (the
            # tests load with the checks on), so the benchmark load skips them like a restore.
            cursor.execute("SET session_replication_role = replica")
    try:
        with transaction.atomic(using=connection.alias):
            batches: Iterable[Batch] = generate(config, refs, bases, params)
            iterator = iter(batches)
            while True:
                started = time.perf_counter()
                batch = next(iterator, None)
                stats.add_time("generate", time.perf_counter() - started)
                if batch is None:
                    break
                if on_batch is not None:
                    on_batch(batch)
                started = time.perf_counter()
                for table, frame in batch.frames:
                    _check_columns(models[table], frame)
                    write_frame(connection, table, frame)
                    stats.rows[table] = stats.rows.get(table, 0) + frame.height
                stats.add_time("write", time.perf_counter() - started)
                if progress is not None:
                    progress(
                        f"{stats.rows.get('pipeline_opportunity', 0):,} opportunities "
                        f"(generate {stats.seconds['generate']:.1f} s, "
                        f"write {stats.seconds.get('write', 0.0):.1f} s)"
                    )
            # The deal facts, as every write path keeps them (raw rows send no signals):
            # one set-based rebuild over the whole table when it was empty before.
            started = time.perf_counter()
            first = first_deal
            last = bases.next_id["pipeline_opportunity"]
            deal_facts_refresh(None if first == 1 else range(first, last))
            stats.add_time("facts", time.perf_counter() - started)
            started = time.perf_counter()
            statements = connection.ops.sequence_reset_sql(
                no_style(), [models[t] for t in stats.rows]
            )
            with connection.cursor() as cursor:
                for sql in statements:
                    cursor.execute(sql)
            stats.add_time("sequences", time.perf_counter() - started)
    finally:
        with connection.cursor() as cursor:
            if sqlite_fast:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            if pg_fast:
                cursor.execute("SET session_replication_role = DEFAULT")
    return stats


# ---------------------------------------------------------------------------------------------
# The benchmark databases


def _pg_parts(url: str) -> dict[str, Any]:
    parsed = urllib.parse.urlparse(url)
    return {
        "host": parsed.hostname or "127.0.0.1",
        "port": parsed.port or 5432,
        "user": parsed.username or "postgres",
        "password": parsed.password,
        "dbname": parsed.path.lstrip("/"),
    }


def read_marker(target: str) -> dict[str, Any] | None:
    """The ``bench_meta`` record of a benchmark database, or None (missing or half-loaded)."""
    sql = f"SELECT value FROM {META_TABLE} WHERE key = 'config'"  # noqa: S608
    if target == "sqlite":
        if not SQLITE_PATH.exists():
            return None
        with sqlite3.connect(SQLITE_PATH) as db:
            try:
                row = db.execute(sql).fetchone()
            except sqlite3.OperationalError:
                return None
        return json.loads(row[0]) if row else None
    import psycopg

    parts = _pg_parts(PG_URL)
    try:
        with psycopg.connect(**parts, connect_timeout=5) as db:
            row = db.execute(sql).fetchone()
    except psycopg.OperationalError:
        return None  # no database yet
    except psycopg.errors.UndefinedTable:
        return None
    return json.loads(row[0]) if row else None


def prepare_target(target: str, config: ScaleConfig, *, reload: bool) -> bool:
    """Make sure the target holds ``config``'s data or is empty. True when already loaded."""
    marker = read_marker(target)
    if marker == config.marker() and not reload:
        return True
    if target == "sqlite":
        SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{SQLITE_PATH}{suffix}").unlink(missing_ok=True)
        return False
    import psycopg
    from psycopg import sql

    parts = _pg_parts(PG_URL)
    name = parts["dbname"]
    with psycopg.connect(**{**parts, "dbname": "postgres"}, autocommit=True) as db:
        db.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        db.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return False


def ensure_loaded(
    config: ScaleConfig, *, progress: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """In a process whose Django ``default`` database is the target: migrate, load the default
    processes and the pipeline unless ``bench_meta`` says it is there. Returns the stats record
    (rows and seconds per step; ``reused`` when nothing was loaded)."""
    from django.core.management import call_command
    from django.db import connection

    from milepost.process.services import process_load_defaults

    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {META_TABLE} "
            "(key varchar(32) PRIMARY KEY, value text NOT NULL)"
        )
        cursor.execute(f"SELECT key, value FROM {META_TABLE}")  # noqa: S608
        meta = {key: json.loads(value) for key, value in cursor.fetchall()}
    if meta.get("config") == config.marker() and "stats" in meta:
        return {**meta["stats"], **_upgrade(connection), "reused": True}
    if meta:
        raise RuntimeError("the benchmark database holds other data; prepare_target first")

    started = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    process_load_defaults()
    migrate_s = time.perf_counter() - started
    started = time.perf_counter()
    stats = load_pipeline(connection, config, fast=True, progress=progress)
    # generate + write + sequences + commit: the wall-clock time of the whole load
    stats.add_time("load total", time.perf_counter() - started)
    stats.add_time("migrate", migrate_s)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    stats.add_time("analyze", time.perf_counter() - started)
    record = {"rows": stats.rows, "seconds": stats.seconds}
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {META_TABLE} (key, value) VALUES (%s, %s), (%s, %s)",  # noqa: S608
            ["stats", json.dumps(record), "config", json.dumps(config.marker())],
        )
    return {**record, "reused": False}


def _upgrade(connection: Any) -> dict[str, Any]:
    """Apply migrations newer than a reused database (their data steps run on the loaded
    rows, as on a production upgrade), then VACUUM / ANALYZE. Returns their seconds, if any
    ran."""
    from django.core.management import call_command
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if not pending:
        return {}
    names = [f"{m.app_label}.{m.name}" for m, _ in pending]
    log(f"    applying {', '.join(names)} to the loaded data")
    started = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    upgrade_s = time.perf_counter() - started
    with connection.cursor() as cursor:
        # Data migrations rewrite rows: on PostgreSQL the dead ones would cost the index-only
        # scans inspection relies on until autovacuum came by.
        cursor.execute("VACUUM (ANALYZE)" if connection.vendor == "postgresql" else "ANALYZE")
    return {"upgraded": {"migrations": names, "seconds": round(upgrade_s, 1)}}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
