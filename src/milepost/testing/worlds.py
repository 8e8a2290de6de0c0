"""Test data built once per module and shared by its tests.

Permission probes try every page and endpoint as every role with other users' ids: hundreds of
cases over one small world. Building that world for each case was most of their time, so a
module builds it once inside a transaction that stays open for the whole module; each test runs
in a savepoint inside it (pytest-django's ``db`` fixture nests), so what a test writes is undone
after it, and the world itself is rolled back at the end of the module. Nothing is committed:
the database is left as the session set it up.

    @pytest.fixture(scope="module")
    def world(django_db_setup, django_db_blocker):
        yield from shared_world(django_db_blocker, build_the_world)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, overload

from django.db import connection, transaction

T = TypeVar("T")


@overload
def shared_world(django_db_blocker: Any, build: Callable[[], T]) -> Iterator[T]: ...
@overload
def shared_world(django_db_blocker: Any, build: None = None) -> Any: ...


def shared_world(django_db_blocker: Any, build: Callable[[], T] | None = None) -> Any:
    """With ``build``: a generator that yields ``build()``'s world for a module fixture.

    After building, the world's foreign keys are checked once. On PostgreSQL they are deferred
    to the end of the transaction, and Django checks them at the end of every test; inside the
    module's transaction each test's savepoint rollback would put the whole world's checks back
    in the queue, so a large world (the real dataset) cost seconds per test.

    Without ``build``: a context manager around code that builds the world itself.
    """
    if build is None:
        return _open_transaction(django_db_blocker)
    return _built(django_db_blocker, build)


def _built(django_db_blocker: Any, build: Callable[[], T]) -> Iterator[T]:
    with _open_transaction(django_db_blocker):
        world = build()
        connection.check_constraints()
        yield world


@contextmanager
def _open_transaction(django_db_blocker: Any) -> Iterator[None]:
    """Open a transaction for the rest of a module; roll it back when the module is done."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
