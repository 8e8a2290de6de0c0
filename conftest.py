"""Fixtures for every test of the repository (``src`` and ``tests``)."""

from __future__ import annotations

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


@pytest.fixture(autouse=True)
def _close_arrow_reader() -> Iterator[None]:
    """Inspection keeps a native Arrow connection per thread between runs (PostgreSQL);
    close it after each test, as the end of a request would not, so the test database can be
    dropped at the end of the session."""
    yield
    from milepost.inspection.sql_frames import close_native_readers

    close_native_readers()
