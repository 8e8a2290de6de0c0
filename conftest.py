"""Fixtures for every test of the repository (``src`` and ``tests``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _close_arrow_reader() -> Iterator[None]:
    """Inspection keeps a native Arrow connection per thread between runs (PostgreSQL);
    close it after each test, as the end of a request would not, so the test database can be
    dropped at the end of the session."""
    yield
    from milepost.inspection.sql_frames import close_native_readers

    close_native_readers()
