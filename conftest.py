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
        _record_migrations_of_unmigrated_databases()
        load_default_processes()


def _record_migrations_of_unmigrated_databases() -> None:
    """A test database created from the models (``TEST["MIGRATE"] = False``: the SQLite jobs
    file, see settings_test.py) is marked as migrated, as ``migrate`` would have left it, so a
    command that migrates it (the demo's) finds nothing to do, as in a real deployment."""
    from django.db import connections
    from django.db.migrations.loader import MigrationLoader
    from django.db.migrations.recorder import MigrationRecorder

    for alias in connections:
        if connections[alias].settings_dict.get("TEST", {}).get("MIGRATE", True):
            continue
        recorder = MigrationRecorder(connections[alias])
        recorder.ensure_schema()
        applied = recorder.applied_migrations()
        for app_label, name in MigrationLoader(None, ignore_no_migrations=True).graph.nodes:
            if (app_label, name) not in applied:
                recorder.record_applied(app_label, name)


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


# The longest modules (a shared world or the real dataset built once), started first:
# pytest-xdist's ``loadscope`` hands modules out in collection order, and one of these handed
# out late kept a worker busy long after the other had finished. pytest-django puts tests that
# commit (the browser tests) last; the two longest browser modules start early instead (the
# stored-XSS render was the SQLite half's last module, 20 s on one worker while the other had
# finished): after each of their tests the teardown above loads the shipped definitions again.
LONGEST_FIRST = (
    "demo/tests/test_real_dataset.py",
    "browser/test_stored_xss.py",
    "browser/test_pipeline_pages.py",
    "testing/tests/test_permission_matrix.py",
    "deals/tests/test_api.py",
    "inspection/tests/test_inspection_agrees.py",
    "deals/tests/test_extreme_values.py",
    "engine/tests/test_criteria_frames.py",
)


def _start_rank(item: pytest.Item) -> int:
    path = item.nodeid.split("::", 1)[0]
    for rank, fragment in enumerate(LONGEST_FIRST):
        if fragment in path:
            return rank
    return len(LONGEST_FIRST)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The longest modules first (``LONGEST_FIRST``). Under ``MILEPOST_TEST_DATABASE_ONLY=1``
    (bin/test's PostgreSQL half) only the tests that reach a database: the others (the engine,
    pure parsing and formatting) ran in the SQLite half, and again they would tell nothing new."""
    items.sort(key=_start_rank)  # stable: the order within a module is kept
    if os.environ.get("MILEPOST_TEST_DATABASE_ONLY") != "1":
        return
    kept, dropped = [], []
    for item in items:
        (kept if touches_database(item) else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
