"""SCHEMATHESIS over the OpenAPI document: every operation answers as it documents.

Schemathesis generates requests for every operation of ``/api/v1/openapi.json`` (valid and
invalid bodies, queries and path parameters) and sends them to the app in process, through its
WSGI handler (so the test database and its transaction are the app's), with the bearer token
of a user who sees data (the leader: both teams' deals and 1:1s). It fails on

- any 5xx (``not_a_server_error``);
- a status code the operation does not document (``status_code_conformance``);
- a body that does not match the documented schema of its status (``response_schema_conformance``)
  or a content type the operation does not document (``content_type_conformance``).

Path parameters that name a row (``opportunity_id``, ``session_id``, ...) are, in about half
of the examples, the ids of real rows of the shared world (``milepost.testing.matrix``), so
the 200 answers are checked too, not only 404s.

The budget is small here (``MILEPOST_FUZZ_EXAMPLES``, default 3 per operation, as the leader);
``bin/fuzz`` runs the long version (many examples, as the leader and as a sales-ops admin).
"""

from __future__ import annotations

import json
import os

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from ninja.responses import NinjaJSONEncoder
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from milepost.api import api
from milepost.testing.matrix import OWNERSHIP, World, build_world
from milepost.testing.worlds import shared_world

pytestmark = pytest.mark.django_db(databases=["default", "jobs"])

EXAMPLES = int(os.environ.get("MILEPOST_FUZZ_EXAMPLES", "3"))
USERS = os.environ.get("MILEPOST_FUZZ_USERS", "leader").split(",")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

_document = json.loads(json.dumps(api.get_openapi_schema(), cls=NinjaJSONEncoder))
schema = schemathesis.openapi.from_dict(_document)
schema.app = WSGIHandler()


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    yield from shared_world(django_db_blocker, build_world)


@pytest.fixture(scope="module")
def in_process(world):
    """Requests share the test's connection and transaction: a WSGI server closes the
    connection at the end of each request (``close_old_connections``), which would end them.
    Django's own test client switches the same signal off while it serves a request."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@schema.parametrize()
@schema.given(real_ids=st.booleans())
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_the_api_answers_as_documented(case, real_ids, world: World, in_process):
    if real_ids and case.path_parameters:
        for name in case.path_parameters:
            if name in OWNERSHIP:
                case.path_parameters[name] = world.ids[name]
    for username in USERS:
        headers = {"Authorization": f"Bearer {world.tokens[username]}"}
        case.call_and_validate(headers=headers, checks=CHECKS)


def _models(root: type) -> set[type]:
    found = set()
    for sub in root.__subclasses__():
        found |= {sub} | _models(sub)
    return found


def test_no_two_api_schemas_share_a_name():
    """django-ninja names an OpenAPI component after its class and keeps the last one of a
    name: the deal's ``StageOut`` was documented as the process's (``buyer_phase`` required,
    never sent). Schema classes of Milepost need names of their own."""
    from collections import defaultdict

    from pydantic import BaseModel

    components = set(_document["components"]["schemas"])
    by_name = defaultdict(set)
    for model in _models(BaseModel):
        module = model.__module__
        if module.startswith("milepost.") and model.__name__ in components:
            by_name[model.__name__].add(f"{module}.{model.__qualname__}")
    shared = {name: sorted(where) for name, where in by_name.items() if len(where) > 1}
    assert not shared, shared
