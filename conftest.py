"""Fixtures for every test of the repository (``src`` and ``tests``)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

# No test is timed: a property test that takes 300 ms on a busy machine is not a failure (speed
# goals live in bin/bench). Hypothesis' default 200 ms deadline made such tests flaky.
settings.register_profile("milepost", deadline=None)
settings.load_profile("milepost")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker) -> None:
    """The test database, with the shipped processes and methodology packs loaded once.

    Most tests need them, and loading them (two processes, seven packs) for each test was a
    large share of the suite's time. Each test still runs in a transaction that is rolled back,
    so what a test changes in them is gone for the next one. Tests that commit
    (``transaction=True``, the browser tests) end with a flush that empties the database; the
    ``processes`` fixture loads them again where they are missing.
    """
    from milepost.testing.factories import load_default_processes

    with django_db_blocker.unblock():
        load_default_processes()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Load the shipped definitions again after a test that committed and was flushed.

    Tests that commit (``transaction=True``, ``transactional_db``, the live server) end with a
    flush that empties the database (in pytest-django's own teardown, after every fixture of
    ours), and the tests run after them on the same worker expect what ``django_db_setup``
    loaded. Tests are distributed by module, so any module may come next.
    """
    result = yield
    marker = item.get_closest_marker("django_db")
    committed = bool(marker and marker.kwargs.get("transaction")) or bool(
        {"transactional_db", "live_server"} & set(getattr(item, "fixturenames", ()))
    )
    if committed and nextitem is not None:  # after the last test the database is gone
        from pytest_django.plugin import blocking_manager_key

        from milepost.testing.factories import ensure_default_processes

        with item.config.stash[blocking_manager_key].unblock():
            ensure_default_processes()
    return result


@pytest.fixture(autouse=True)
def _close_arrow_reader() -> Iterator[None]:
    """Inspection keeps a native Arrow connection per thread between runs (PostgreSQL);
    close it after each test, as the end of a request would not, so the test database can be
    dropped at the end of the session."""
    yield
    from milepost.inspection.sql_frames import close_native_readers

    close_native_readers()


# Fixtures that reach a database. pytest-django's autouse ``_django_setup_unittest`` asks for
# ``django_db_blocker`` in every test, so that one counts only where a fixture of ours asks.
_DATABASE_FIXTURES = {
    "db",
    "transactional_db",
    "django_db_reset_sequences",
    "django_db_serialized_rollback",
    "django_db_setup",
    "live_server",
}


def touches_database(item: pytest.Item) -> bool:
    """Whether a test can reach a database: marked, asks for a database fixture, or uses a
    fixture of ours that unblocks the database itself (module-scoped worlds do)."""
    if item.get_closest_marker("django_db"):
        return True
    names = set(getattr(item, "fixturenames", ()))
    if names & _DATABASE_FIXTURES:
        return True
    cls = getattr(item, "cls", None)
    if cls is not None:
        from django.test import TransactionTestCase

        if issubclass(cls, TransactionTestCase):
            return True
    info = getattr(item, "_fixtureinfo", None)
    for defs in info.name2fixturedefs.values() if info else ():
        for fixturedef in defs:
            if "django_db_blocker" in fixturedef.argnames:
                module = getattr(fixturedef.func, "__module__", "")
                if not module.startswith("pytest_django"):
                    return True
    return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under ``MILEPOST_TEST_DATABASE_ONLY=1`` (bin/test's second half, on PostgreSQL) keep
    only the tests that reach a database: the others (the engine, pure parsing and
    formatting) ran already in the SQLite half, and running them again tells nothing new."""
    if os.environ.get("MILEPOST_TEST_DATABASE_ONLY") != "1":
        return
    kept, dropped = [], []
    for item in items:
        (kept if touches_database(item) else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
