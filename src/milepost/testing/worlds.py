"""Test data built once per module and shared by its tests.

Permission probes try every page and endpoint as every role with other users' ids: hundreds of
cases over one small world. Building that world for each case was most of their time, so a
module builds it once inside a transaction that stays open for the whole module; each test runs
in a savepoint inside it (pytest-django's ``db`` fixture nests), so what a test writes is undone
after it, and the world itself is rolled back at the end of the module. Nothing is committed:
the database is left as the session set it up.

    @pytest.fixture(scope="module")
    def world(django_db_setup, django_db_blocker):
        with shared_world(django_db_blocker):
            yield build_the_world()
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction


@contextmanager
def shared_world(django_db_blocker: Any) -> Iterator[None]:
    """Open a transaction for the rest of a module; roll it back when the module is done."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
