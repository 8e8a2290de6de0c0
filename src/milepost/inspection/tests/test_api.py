"""The inspection API: the ranked deals with their signals, one deal's explanation, the signal x
rep summary, and the same row-level rule as everywhere (a hidden deal is a 404)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from milepost.inspection.deal import inspect_opportunity
from milepost.inspection.pipeline import inspect_pipeline
from milepost.inspection.tests.test_views import World, build_world
from milepost.pipeline.presentation import today
from milepost.team.services import api_token_create
from milepost.testing.factories import Org, make_opportunity
from milepost.testing.probes import probed

pytestmark = pytest.mark.django_db

API = "/api/v1/inspection"
# The "who sees what" tests: a rep, a manager and an admin on each other's deals.
PROBED = probed(("get", f"{API}/deals"), ("get", f"{API}/deals/1"), ("get", f"{API}/summary"))


@pytest.fixture
def world(org: Org, processes: None) -> World:
    return build_world(org)


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["opportunity_id"] for item in response.json()["items"]]


def test_deals_default_to_not_under_control_ranked_with_signals(world: World, client_for):
    response = client_for(world.org.manager_a).get(f"{API}/deals")
    assert ids(response) == [world.big_a1.pk, world.mid_a2.pk]
    body = response.json()
    assert body["count"] == 2
    first = body["items"][0]
    assert first["name"] == "Big A1"
    assert first["under_control"] is False
    assert first["priority"] >= body["items"][1]["priority"]
    signals = {s["signal"]: s for s in first["signals"]}
    assert signals["close_date_past"]["label"] == "Close date past"
    assert "5 days past" in signals["close_date_past"]["reason"]
    result = inspect_pipeline(user=world.org.manager_a)
    expected = result.signals.filter(result.signals["opportunity_id"] == world.big_a1.pk)
    assert sum(s["weight"] for s in first["signals"]) == expected["weight"].sum()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("under_control=all", ["big_a1", "mid_a2", "calm_a2", "noisy_a1"]),
        ("under_control=yes", ["calm_a2", "noisy_a1"]),
        ("under_control=all&flagged=true", ["big_a1", "mid_a2", "noisy_a1"]),
        ("rep={rep_a2}&under_control=all", ["mid_a2", "calm_a2"]),
        ("stage=discover", ["mid_a2"]),
        ("signal=close_date_past", ["big_a1"]),
        ("period=overdue", ["big_a1"]),
        ("close_from={in30}&under_control=all", ["mid_a2"]),
    ],
)
def test_deal_filters(world: World, client_for, query: str, expected: list[str]):
    query = query.format(rep_a2=world.org.rep_a2.pk, in30=today() + timedelta(days=30))
    got = ids(client_for(world.org.manager_a).get(f"{API}/deals?{query}"))
    assert sorted(got) == sorted(getattr(world, name).pk for name in expected)


def test_deals_paginate(org: Org, processes: None, client_for):
    for i in range(5):
        make_opportunity(org.rep_a1, stage_key="commit", amount=str(1000 * (i + 1)))
    client = client_for(org.manager_a)
    every = ids(client.get(f"{API}/deals"))
    page = client.get(f"{API}/deals?limit=2&offset=2").json()
    assert page["count"] == 5
    assert page["limit"] == 2
    assert page["offset"] == 2
    assert [i["opportunity_id"] for i in page["items"]] == every[2:4]
    assert client.get(f"{API}/deals?signal=nonsense").status_code == 422


def test_detail_explains_criteria_signals_and_actions(world: World, client_for):
    response = client_for(world.org.manager_a).get(f"{API}/deals/{world.big_a1.pk}")
    assert response.status_code == 200
    body = response.json()
    expected = inspect_opportunity(user=world.org.manager_a, opportunity_id=world.big_a1.pk)
    assert body["claimed_stage"] == "commit"
    assert body["verified_stage"] == expected.criteria.verified_stage
    assert body["under_control"] is False
    assert body["risk"] == expected.risk > 0
    assert body["next_actions"] == expected.next_actions
    assert body["unmet"] == expected.criteria.unmet_ids()
    assert [s["key"] for s in body["stages"]][:3] == ["engage", "discover", "commit"]
    engage = body["stages"][0]["criteria"]
    assert {"id": "buyer_agreed_to_explore", "status": "unmet"}.items() <= engage[0].items()
    assert engage[0]["reason"] == "no call or meeting logged yet"
    assert {s["signal"] for s in body["signals"]} >= {"criteria_unmet", "close_date_past"}


def test_summary_counts_per_rep_equal_the_service(world: World, client_for):
    body = client_for(world.org.manager_a).get(f"{API}/summary").json()
    result = inspect_pipeline(user=world.org.manager_a)
    owner = dict(zip(result.deals["opportunity_id"], result.deals["owner_id"], strict=True))
    expected: dict[int, dict[str, int]] = {}
    for row in result.signals.to_dicts():
        counts = expected.setdefault(owner[row["opportunity_id"]], {})
        counts[row["signal"]] = counts.get(row["signal"], 0) + 1
    got = {rep["rep_id"]: {k: v for k, v in rep["signals"].items() if v} for rep in body["reps"]}
    assert got == expected
    control = {
        r["rep_id"]: (r["deals"], r["under_control"], r["not_under_control"]) for r in body["reps"]
    }
    assert control == {world.org.rep_a1.pk: (2, 1, 1), world.org.rep_a2.pk: (2, 1, 1)}
    assert len(body["signals"]) == 11


# --- who sees what ---------------------------------------------------------------------------


def test_rep_sees_only_own_deals(world: World, client_for):
    client = client_for(world.org.rep_a1)
    assert sorted(ids(client.get(f"{API}/deals?under_control=all"))) == sorted(
        [world.big_a1.pk, world.noisy_a1.pk]
    )
    assert {r["rep_id"] for r in client.get(f"{API}/summary").json()["reps"]} == {
        world.org.rep_a1.pk
    }
    for other in (world.mid_a2, world.other_b1):
        assert client.get(f"{API}/deals/{other.pk}").status_code == 404


def test_manager_never_sees_another_teams_deal(world: World, client_for):
    client = client_for(world.org.manager_a)
    every = ids(client.get(f"{API}/deals?under_control=all"))
    assert world.other_b1.pk not in every
    assert len(every) == 4
    assert ids(client.get(f"{API}/deals?rep={world.org.rep_b1.pk}&under_control=all")) == []
    missing = client.get(f"{API}/deals/{world.other_b1.pk}")
    assert missing.status_code == 404
    assert missing.json() == {"detail": f"opportunity {world.other_b1.pk} not found"}
    reps = {r["rep_id"] for r in client.get(f"{API}/summary").json()["reps"]}
    assert world.org.rep_b1.pk not in reps


def test_admin_sees_all_with_a_token(world: World, client):
    issued = api_token_create(user=world.org.admin, name="script")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {issued.secret}"}
    every = ids(client.get(f"{API}/deals?under_control=all", **auth))
    assert world.other_b1.pk in every
    assert len(every) == 5
    assert client.get(f"{API}/deals/{world.other_b1.pk}", **auth).status_code == 200


def test_anonymous_is_refused(world: World, client):
    assert client.get(f"{API}/deals").status_code == 401
    assert client.get(f"{API}/summary").status_code == 401
    assert client.get(f"{API}/deals/{world.big_a1.pk}").status_code == 401


def test_openapi_document_lists_the_inspection_paths(world: World, client_for):
    paths = client_for(world.org.rep_a1).get("/api/v1/openapi.json").json()["paths"]
    for path in ("/inspection/deals", "/inspection/deals/{opportunity_id}", "/inspection/summary"):
        assert f"/api/v1{path}" in paths
