"""Permission probes of every evidence and criteria endpoint with other users' deals (session
and token auth): a hidden deal answers 404 like a missing one and a refused write stores
nothing. The world (the organisation and one deal with evidence per seller) is built once for
the module; each probe runs in its own savepoint."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.test import Client

from milepost.evidence.models import Evidence, EvidenceEvent
from milepost.evidence.services import evidence_record
from milepost.pipeline.models import Opportunity
from milepost.testing.clients import api_client
from milepost.testing.factories import Org, ensure_default_processes, make_opportunity, make_org
from milepost.testing.probes import probed
from milepost.testing.worlds import shared_world

pytestmark = pytest.mark.django_db

API = "/api/v1"
REP_ONLY = "competition_known"  # verifier rep, no rule
BUYER_ONLY = "problem_and_cost_confirmed"  # verifier buyer, no rule

# (method, path suffix after /opportunities/{id}, body): every evidence and criteria endpoint.
ENDPOINTS = [
    ("get", "/criteria", None),
    ("get", "/evidence", None),
    ("put", f"/evidence/{REP_ONLY}", {"note": "Sneaky evidence", "version": 1}),
    ("put", f"/evidence/{BUYER_ONLY}", {"note": "Sneaky first evidence"}),
    ("post", f"/evidence/{REP_ONLY}/verify", {"version": 1}),
    ("post", f"/evidence/{REP_ONLY}/reject", {"version": 1, "reason": "Sneaky"}),
    ("post", f"/evidence/{REP_ONLY}/withdraw", {"version": 1}),
    ("get", f"/evidence/{REP_ONLY}/history", None),
]
PROBED = probed(*((method, f"{API}/opportunities/1{suffix}") for method, suffix, _ in ENDPOINTS))
# Whose deals each viewer may see, written out by hand (the rule under test, not restated).
OWNERS = ["manager_a", "rep_a1", "rep_a2", "rep_b1", "rep_solo"]
VISIBLE = {
    "manager_a": {"manager_a", "rep_a1", "rep_a2"},
    "manager_b": {"rep_b1"},
    "rep_a1": {"rep_a1"},
    "rep_a2": {"rep_a2"},
    "rep_b1": {"rep_b1"},
    "rep_solo": {"rep_solo"},
}


@dataclass(frozen=True)
class World:
    org: Org
    deals: dict[str, Opportunity]  # by owner username, each with one piece of evidence


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    with shared_world(django_db_blocker):
        ensure_default_processes()
        org = make_org()
        deals = {}
        for owner in OWNERS:
            opp = make_opportunity(getattr(org, owner), name=f"{owner} deal")
            evidence_record(
                user=getattr(org, owner), opportunity_id=opp.pk, criterion_key=REP_ONLY, note="Mine"
            )
            deals[owner] = opp
        yield World(org=org, deals=deals)


def call(client: Client, method: str, path: str, body: dict | None = None):
    if method == "get":
        return client.get(f"{API}{path}")
    return getattr(client, method)(
        f"{API}{path}", data=json.dumps(body or {}), content_type="application/json"
    )


@pytest.mark.parametrize("auth", ["session", "token"])
@pytest.mark.parametrize("viewer", sorted(VISIBLE))
def test_every_endpoint_is_404_for_deals_the_user_may_not_see(world, viewer, auth):
    client = api_client(getattr(world.org, viewer), auth)
    hidden = [o for o in OWNERS if o not in VISIBLE[viewer]]
    assert hidden, "every viewer has someone else's deal to probe"
    for owner in hidden:
        opp = world.deals[owner]
        for method, suffix, body in ENDPOINTS:
            response = call(client, method, f"/opportunities/{opp.pk}{suffix}", body)
            assert response.status_code == 404, (viewer, owner, method, suffix)
    # nothing was written on any hidden deal
    assert EvidenceEvent.objects.count() == len(OWNERS)
    assert set(Evidence.objects.values_list("version", flat=True)) == {1}
    # and every endpoint answers for a visible deal (the probe is not vacuous)
    own = world.deals[sorted(VISIBLE[viewer])[0]]
    for method, suffix, body in ENDPOINTS[:2] + ENDPOINTS[-1:]:
        assert call(client, method, f"/opportunities/{own.pk}{suffix}", body).status_code == 200


def test_unknown_deal_is_404_and_anonymous_is_401(world):
    client = api_client(world.org.admin)
    assert call(client, "get", "/opportunities/999999/criteria").status_code == 404
    assert (
        call(client, "put", "/opportunities/999999/evidence/x", {"note": "abc"}).status_code == 404
    )
    assert call(Client(), "get", "/opportunities/1/criteria").status_code == 401
