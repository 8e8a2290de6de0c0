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
from django.db import OperationalError, connections

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


class Command(flush.Command):
    def handle(self, **options: Any) -> None:
        database = options["database"]
        if APPEND_ONLY_UNLOCK_TABLE not in connections[database].introspection.table_names():
            super().handle(**options)
            return
        ops = connections[database].ops
        execute_sql_flush = ops.execute_sql_flush

        def unlocked_flush(sql_list: list[str]) -> None:
            def attempt() -> None:
                with append_only_unlocked("flush: every table emptied at once", using=database):
                    execute_sql_flush(sql_list)

            retry_deadlocks(attempt)

        ops.execute_sql_flush = unlocked_flush  # this connection, for this command only
        try:
            super().handle(**options)
        finally:
            del ops.execute_sql_flush
