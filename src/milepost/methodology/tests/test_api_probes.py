"""Permission probes of every methodology endpoint: the owner, their managers and an admin read
and write; every other role gets 404 on the deal and writes nothing (session and token auth);
the packs are shared definitions every role reads. The world is built once for the module;
each test runs in its own savepoint."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from milepost.methodology.models import (
    BuyingInfluence,
    BuyingInfluenceEvent,
    ElementAssessment,
    ElementAssessmentEvent,
)
from milepost.methodology.tests.panel_support import ProbeWorld as World
from milepost.methodology.tests.panel_support import (
    build_probe_world,
)
from milepost.methodology.tests.test_api import API, call, el_path, influence
from milepost.pipeline.models import Opportunity
from milepost.testing.clients import api_client
from milepost.testing.factories import Org
from milepost.testing.probes import PLACEHOLDER, probed
from milepost.testing.worlds import shared_world

pytestmark = pytest.mark.django_db


# --- permission probes --------------------------------------------------------------------

ALLOWED = ["rep_a1", "manager_a", "leader", "admin"]
DENIED = ["rep_a2", "rep_b1", "manager_b", "rep_solo"]


def _probes(deal, iid: int, remove_version: int) -> list[tuple[str, str, Callable | None]]:
    """Every endpoint about the deal; bodies are built when sent (they look up its contacts)."""
    path = f"/opportunities/{deal.pk}/buying-influences"
    return [
        ("get", f"/opportunities/{deal.pk}/methodology", None),
        ("get", el_path(deal, "pain"), None),
        ("get", el_path(deal, "pain", suffix="/history"), None),
        ("put", el_path(deal, "decision"), lambda: {"level": "partial"}),
        ("get", path, None),
        ("get", f"{path}/history", None),
        ("post", path, lambda: influence(deal, role="coach")),
        ("put", f"{path}/{iid}", lambda: influence(deal, rating=1, version=1)),
        ("delete", f"{path}/{iid}?version={remove_version}", None),
    ]


# The packs are shared definitions (no per-user rows): every role reads them.
PACK_READS = ["/methodology/packs", "/methodology/packs/qual"]

PROBED = probed(
    *((method, API + path) for method, path, _ in _probes(PLACEHOLDER, 1, 1)),
    *(("get", API + path) for path in PACK_READS),
)


@pytest.mark.parametrize("role", ALLOWED + DENIED)
def test_every_role_reads_the_packs(role, org, deal):
    client = api_client(getattr(org, role), auth="token")
    for path in PACK_READS:
        response = call(client, "get", path)
        assert response.status_code == 200, (role, path)
    assert "qual" in {p["key"] for p in call(client, "get", PACK_READS[0]).json()}


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    """Built once for the module; each test runs in its own savepoint."""
    yield from shared_world(django_db_blocker, lambda: build_probe_world(score_pain=True))


@pytest.fixture
def org(world: World, db) -> Org:
    return world.org


@pytest.fixture
def deal(world: World, db) -> Opportunity:
    return world.deal


@pytest.fixture
def scored(world: World, db) -> BuyingInfluence:
    return BuyingInfluence.objects.get(pk=world.influence_id)


@pytest.mark.parametrize("auth", ["session", "token"])
@pytest.mark.parametrize("role", DENIED)
def test_hidden_deal_is_404_on_every_endpoint_and_nothing_is_written(role, auth, org, deal, scored):
    client = api_client(getattr(org, role), auth=auth)
    for method, path, body in _probes(deal, scored.pk, 1):
        response = call(client, method, path, body)
        assert response.status_code == 404, (role, method, path)
    assert ElementAssessment.objects.count() == 1
    assert ElementAssessmentEvent.objects.count() == 1
    assert BuyingInfluence.objects.get().version == 1
    assert BuyingInfluenceEvent.objects.count() == 1


@pytest.mark.parametrize("role", ALLOWED)
def test_owner_managers_and_admin_read_and_write(role, org, deal, scored):
    user = getattr(org, role)
    client = api_client(user, auth="token")
    expected = {"get": 200, "put": 200, "post": 201, "delete": 204}
    for method, path, body in _probes(deal, scored.pk, 2):
        response = call(client, method, path, body)
        want = 201 if method == "put" and "methodology" in path else expected[method]
        assert response.status_code == want, (role, method, path, response.content[:200])
    assert ElementAssessmentEvent.objects.get(element="decision").actor == user
    assert [e.actor for e in BuyingInfluenceEvent.objects.order_by("id")[1:]] == [user] * 3
