"""``milepost flush``: Django's flush, allowed to empty the append-only history tables too.

Emptying every table at once is not rewriting history, and Django needs it: after each
transactional or live-server test, pytest-django flushes the test database (DELETE FROM every
table on SQLite, which the append-only triggers would refuse; TRUNCATE on PostgreSQL, refused
too). Only the flush statements run unlocked (:func:`append_only_unlocked`), not the
confirmation prompt or the post-migrate handlers. A database without the history tables
(the ``jobs`` database of job progress on SQLite) has nothing to unlock.

On PostgreSQL a request still being answered by the live server (the browser closed its tab,
the server thread did not notice yet) can hold a share lock on one table while waiting for
another that TRUNCATE already holds: PostgreSQL breaks the deadlock by aborting the flush.
The flush is then tried again: the second TRUNCATE waits on the lock until the request's
transaction ends (a wait on the database, not a sleep). Anything but a deadlock is raised.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.management.commands import flush
from django.db import OperationalError, connections, transaction

from milepost.pipeline.append_only import APPEND_ONLY_UNLOCK_TABLE, append_only_unlocked

DEADLOCK_ATTEMPTS = 3
DEADLOCK_SQLSTATE = "40P01"  # PostgreSQL's deadlock_detected


def is_deadlock(error: OperationalError) -> bool:
    """Whether PostgreSQL aborted the statement to break a deadlock."""
    return getattr(error.__cause__, "sqlstate", None) == DEADLOCK_SQLSTATE


def retry_deadlocks(statement: Callable[[], None], attempts: int = DEADLOCK_ATTEMPTS) -> None:
    """Run ``statement``; run it again when PostgreSQL aborted it to break a deadlock."""
    for attempt in range(1, attempts + 1):
        try:
            statement()
            return
        except OperationalError as error:
            if attempt == attempts or not is_deadlock(error):
                raise


# Up to this many rows in every table, PostgreSQL empties the tables that hold any with DELETE:
# TRUNCATE makes new files for each of the ~100 tables and their indexes (half a second, after
# every browser and transactional test), where a few DELETEs take milliseconds. Beyond it,
# TRUNCATE, which does not slow down with the number of rows.
DELETE_UP_TO_ROWS = 1_000


def small_tables_with_rows(database: str) -> list[str] | None:
    """The tables holding rows, when no table holds more than :data:`DELETE_UP_TO_ROWS`
    (PostgreSQL only; None: TRUNCATE as Django does). One statement, each table read up to
    one row past the limit."""
    connection = connections[database]
    if connection.vendor != "postgresql":
        return None
    tables = sorted(connection.introspection.django_table_names(only_existing=True))
    qn = connection.ops.quote_name
    # Identifiers come from the model registry and the catalog, not from any input.
    counts = " UNION ALL ".join(
        f"SELECT {i}, count(*) FROM (SELECT 1 FROM {qn(table)} LIMIT {DELETE_UP_TO_ROWS + 1}) t"  # noqa: S608
        for i, table in enumerate(tables)
    )
    with connection.cursor() as cursor:
        cursor.execute(counts)
        rows = cursor.fetchall()
    if any(n > DELETE_UP_TO_ROWS for _, n in rows):
        return None
    return [tables[i] for i, n in rows if n]


def delete_rows(database: str, tables: list[str]) -> None:
    """Empty ``tables`` in one transaction. Foreign keys are checked at its end (Django
    declares them deferred on PostgreSQL), by then every referencing row is gone too."""
    connection = connections[database]
    qn = connection.ops.quote_name
    with transaction.atomic(using=database), connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"DELETE FROM {qn(table)}")  # noqa: S608 - a catalog name


class Command(flush.Command):
    def handle(self, **options: Any) -> None:
        database = options["database"]
        if APPEND_ONLY_UNLOCK_TABLE not in connections[database].introspection.table_names():
            super().handle(**options)
            return
        ops = connections[database].ops
        execute_sql_flush = ops.execute_sql_flush
        reset_sequences = options.get("reset_sequences", True)

        def unlocked_flush(sql_list: list[str]) -> None:
            def attempt() -> None:
                with append_only_unlocked("flush: every table emptied at once", using=database):
                    small = None if reset_sequences else small_tables_with_rows(database)
                    if small is None:
                        execute_sql_flush(sql_list)
                    else:
                        delete_rows(database, small)

            retry_deadlocks(attempt)

        ops.execute_sql_flush = unlocked_flush  # this connection, for this command only
        try:
            super().handle(**options)
        finally:
            del ops.execute_sql_flush
