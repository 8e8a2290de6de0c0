"""Fixtures shared by every test module in the package."""

from __future__ import annotations

import pytest

from milepost.testing.factories import Org, load_default_processes, make_org


@pytest.fixture
def org(db) -> Org:
    return make_org()


@pytest.fixture
def processes(db) -> None:
    load_default_processes()


@pytest.fixture
def client_for(client):
    """``client_for(user)`` returns the test client signed in as ``user``."""

    def _login(user):
        client.force_login(user)
        return client

    return _login
