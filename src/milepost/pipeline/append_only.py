"""The one way to rewrite append-only history on purpose (see ``migrations/_append_only.py``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connections, transaction

APPEND_ONLY_UNLOCK_TABLE = "append_only_unlock"  # created by pipeline migration 0006


@contextmanager
def append_only_unlocked(reason: str, *, using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Inside this block (one transaction), the database lets append-only rows be updated and
    deleted. Nothing else may rewrite history, so every use says why in ``reason``.

    It inserts a row into ``append_only_unlock``, which the triggers look for, and deletes it
    again before the block's transaction ends: no other transaction ever sees it, and an error
    in the block rolls it back with everything else. The Python-level guard of
    :class:`AppendOnly` (``save()``/``delete()`` on an instance) stays on: use
    ``QuerySet.update()``/``.delete()``. Used by the ``flush`` command (every table emptied
    at once, e.g. after each transactional test) and available to a data migration that must
    backfill a new column of a history table.
    """
    token = uuid.uuid4().hex
    connection = connections[using]
    table = connection.ops.quote_name(APPEND_ONLY_UNLOCK_TABLE)  # a constant, values are params
    with transaction.atomic(using=using):
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (token, reason) VALUES (%s, %s)",  # noqa: S608
                [token, reason[:200]],
            )
        yield
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE token = %s", [token])  # noqa: S608
