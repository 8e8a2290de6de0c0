"""``milepost flush``: Django's flush, allowed to empty the append-only history tables too.

Emptying every table at once is not rewriting history, and Django needs it: after each
transactional or live-server test, pytest-django flushes the test database (DELETE FROM every
table on SQLite, which the append-only triggers would refuse; TRUNCATE on PostgreSQL, refused
too). Only the flush statements run unlocked (:func:`append_only_unlocked`), not the
confirmation prompt or the post-migrate handlers. A database without the history tables
(the ``jobs`` database of job progress on SQLite) has nothing to unlock.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands import flush
from django.db import connections

from milepost.pipeline.append_only import APPEND_ONLY_UNLOCK_TABLE, append_only_unlocked


class Command(flush.Command):
    def handle(self, **options: Any) -> None:
        database = options["database"]
        if APPEND_ONLY_UNLOCK_TABLE not in connections[database].introspection.table_names():
            super().handle(**options)
            return
        ops = connections[database].ops
        execute_sql_flush = ops.execute_sql_flush

        def unlocked_flush(sql_list: list[str]) -> None:
            with append_only_unlocked("flush: every table emptied at once", using=database):
                execute_sql_flush(sql_list)

        ops.execute_sql_flush = unlocked_flush  # this connection, for this command only
        try:
            super().handle(**options)
        finally:
            del ops.execute_sql_flush
