"""Fixtures shared by every test module in the package."""

from __future__ import annotations

import pytest
from django.db import connections

from milepost.testing.factories import (
    Org,
    ensure_default_processes,
    make_account,
    make_contact,
    make_opportunity,
    make_org,
    remove_definitions,
)


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


@pytest.fixture
def media_root(settings, tmp_path):
    """Uploaded files (evidence artefacts) go to this test's own folder: the artefact storage
    follows ``MEDIA_ROOT``. Use with ``pytestmark = pytest.mark.usefixtures("media_root")``."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def buyer_deal(org: Org, processes: None):
    """rep_a1's deal in *negotiate* at Acme, whose contact Bea Buyer writes from
    ``bea@acme.example`` (the account's domain, for the acceptance rule)."""
    account = make_account(name="Acme", owner=org.rep_a1)
    make_contact(account, first="Bea", last="Buyer", email="bea@acme.example")
    return make_opportunity(owner=org.rep_a1, account=account, stage_key="negotiate")
