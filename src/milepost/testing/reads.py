"""Test helpers for inspection's read paths (docs/inspection.md).

The native readers are other connections: they see committed rows only, so a test of the path
users get builds its world outside the test's transaction, commits it, and inspects outside
any transaction, as a request does. :func:`committed_world` gives a module that access and
leaves the database as the session had it; :func:`recorded_reads` says which reader served
each read, so a test can assert the production one did (:func:`production_reader`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from milepost.inspection import sql_frames
from milepost.pipeline.append_only import append_only_unlocked
from milepost.pipeline.models import Opportunity
from milepost.testing.factories import ensure_default_processes, load_default_processes

DJANGO = "django"


@contextmanager
def committed_world(django_db_blocker: Any) -> Iterator[None]:
    """Database access outside any test transaction for a module-scoped world.

    What the block writes is committed. At the end the database is emptied and the shipped
    definitions loaded again: the state the session's ``django_db_setup`` left. The module's
    tests must carry the ``django_db`` mark, or pytest-django creates no test database.
    """
    with django_db_blocker.unblock():
        # Never the real database: pytest-django points NAME at the test database's name.
        name = str(connection.settings_dict["NAME"])
        if name != connection.settings_dict.get("TEST", {}).get("NAME") and not name.startswith(
            "test_"
        ):
            raise RuntimeError("no test database: mark the module's tests with django_db")
        ensure_default_processes()
        try:
            yield
        finally:
            sql_frames.close_native_readers()
            call_command("flush", verbosity=0, interactive=False)
            load_default_processes()


@contextmanager
def deals_removed_after() -> Iterator[None]:
    """Delete the deals created in the block (and, by cascade, their rows) when it ends: what
    one test or example commits, gone before the next."""
    last = Opportunity.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    try:
        yield
    finally:
        # Deleting a deal deletes its history, which the database refuses unless asked to.
        with append_only_unlocked("test: remove the deals an example committed"):
            Opportunity.objects.filter(pk__gt=last).delete()


def production_reader() -> str:
    """What serves an inspection outside a transaction on this database: the native Arrow
    reader on PostgreSQL, Django's connection on SQLite (docs/inspection.md says why)."""
    return "ArrowReader" if connection.vendor == "postgresql" else DJANGO


@contextmanager
def recorded_reads() -> Iterator[list[str]]:
    """For each :func:`~milepost.inspection.sql_frames.read_frame` in the block, the reader
    that served it: the native reader's class name, or :data:`DJANGO` for Django's
    connection."""
    served: list[str] = []
    arrow_frame, django_frame = sql_frames._arrow_frame, sql_frames._django_frame

    def via_arrow(reader: Any, *args: Any) -> Any:
        served.append(type(reader).__name__)
        return arrow_frame(reader, *args)

    def via_django(*args: Any) -> Any:
        served.append(DJANGO)
        return django_frame(*args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sql_frames, "_arrow_frame", via_arrow)
        patch.setattr(sql_frames, "_django_frame", via_django)
        yield served
