"""Fixtures shared by every test module in the package."""

from __future__ import annotations

import pytest
from django.db import connections

from milepost.testing.factories import Org, ensure_default_processes, make_org, remove_definitions


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test databases, and the ``jobs`` connection closed before they go.

    On PostgreSQL ``jobs`` is a second connection to the test database (a mirror of
    ``default``) that Django's teardown does not close; left open, dropping the database fails.
    """
    yield
    with django_db_blocker.unblock():
        connections["jobs"].close()


@pytest.fixture
def org(db) -> Org:
    return make_org()


@pytest.fixture
def processes(db) -> None:
    """The shipped processes and packs: loaded once per session, again after a flush."""
    ensure_default_processes()


@pytest.fixture
def without_definitions(db) -> None:
    """An empty catalogue (no process, no pack), for tests of loading itself: the first load,
    idempotence, refusals that must write nothing. Undone with the test's transaction."""
    remove_definitions()


@pytest.fixture
def client_for(client):
    """``client_for(user)`` returns the test client signed in as ``user``."""

    def _login(user):
        client.force_login(user)
        return client

    return _login
