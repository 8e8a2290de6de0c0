"""The methodology API: packs, the deal's panel, element scores with locking and history, buying
influences, error shapes (404 hidden, 409 stale, 422 with field). The permission probes of
every endpoint as every role are in ``test_api_probes.py``."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from django.test import Client

from milepost.methodology.models import (
    BuyingInfluence,
    ElementAssessment,
)
from milepost.methodology.tests.panel_support import (
    contact,
    give_role,
    load_test_methodology,
    make_deal,
)
from milepost.testing.clients import api_client
from milepost.testing.factories import make_account, make_contact

pytestmark = pytest.mark.django_db

API = "/api/v1"


def call(client: Client, method: str, path: str, body: dict | Callable[[], dict] | None = None):
    if callable(body):
        body = body()
    if method in ("get", "delete"):
        return getattr(client, method)(f"{API}{path}")
    return getattr(client, method)(
        f"{API}{path}", data=json.dumps(body or {}), content_type="application/json"
    )


@pytest.fixture
def deal(org):
    load_test_methodology()
    return make_deal(org.rep_a1, stage_key="second")


def el_path(deal, element: str, pack: str = "qual", suffix: str = "") -> str:
    return f"/opportunities/{deal.pk}/methodology/{pack}/{element}{suffix}"


# --- packs --------------------------------------------------------------------


def test_packs_list_and_detail(org, deal):
    client = api_client(org.rep_solo)  # anyone signed in reads packs
    body = call(client, "get", "/methodology/packs").json()
    by_key = {p["key"]: p for p in body}
    assert by_key["qual"]["elements"] == ["pain", "champion", "economic_buyer", "decision"]
    assert (by_key["qual"]["has_buying_influences"], by_key["sheet"]["has_buying_influences"]) == (
        False,
        True,
    )
    detail = call(client, "get", "/methodology/packs/qual").json()
    assert detail["definition"]["elements"][0]["questions"][0].startswith("What happens")
    assert call(client, "get", "/methodology/packs/nope").status_code == 404
    assert Client().get(f"{API}/methodology/packs").status_code == 401


# --- the panel and element scores -----------------------------------------------------------


def test_panel_shows_current_stage_elements_questions_and_gaps(org, deal):
    eve = give_role(deal, "Economic", "economic_buyer")
    body = call(api_client(org.rep_a1), "get", f"/opportunities/{deal.pk}/methodology").json()
    assert body["stage"] == "second"
    qual = body["packs"][0]
    assert [(e["element"], e["requirement"]) for e in qual["elements"]] == [
        ("economic_buyer", "required"),
        ("decision", "recommended"),
    ]
    assert qual["elements"][0]["suggested_contact_ids"] == [eve.pk]
    assert [(g["element"], g["carried_from"]) for g in qual["carried_gaps"]] == [("pain", "First")]
    assert body["questions"][0]["element"] == "economic_buyer"
    assert body["assessments"] == []


def test_put_creates_then_updates_with_version_and_keeps_history(org, deal):
    client = api_client(org.rep_a1)
    eve = contact(deal, "Economic")
    created = call(
        client,
        "put",
        el_path(deal, "economic_buyer"),
        {"level": "partial", "notes": "Named", "answers": {"who": eve.pk}, "contacts": [eve.pk]},
    )
    assert created.status_code == 201
    assert created.json()["contact_ids"] == [eve.pk]
    assert created.json()["version"] == 1
    unread = call(client, "put", el_path(deal, "economic_buyer"), {"level": "confirmed"})
    assert unread.status_code == 422
    assert unread.json()["field"] == "version"
    stale = call(
        client, "put", el_path(deal, "economic_buyer"), {"level": "confirmed", "version": 0}
    )
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 1
    manager = api_client(org.manager_a, auth="token")
    updated = call(
        manager, "put", el_path(deal, "economic_buyer"), {"level": "confirmed", "version": 1}
    )
    assert updated.status_code == 200
    assert (updated.json()["level"], updated.json()["version"]) == ("confirmed", 2)
    got = call(client, "get", el_path(deal, "economic_buyer")).json()
    assert (got["level"], got["updated_by_id"]) == ("confirmed", org.manager_a.pk)
    history = call(client, "get", el_path(deal, "economic_buyer", suffix="/history")).json()
    assert [(h["previous_level"], h["level"], h["actor_id"]) for h in history] == [
        ("partial", "confirmed", org.manager_a.pk),
        ("", "partial", org.rep_a1.pk),
    ]
    assert call(client, "get", el_path(deal, "decision")).status_code == 404  # never scored


@pytest.mark.parametrize(
    ("element", "pack", "body", "field"),
    [
        ("decision", "qual", {"level": "sure"}, "level"),
        ("nope", "qual", {"level": "partial"}, "element"),
        ("decision", "other", {"level": "partial"}, "pack"),
        (
            "decision",
            "qual",
            {"level": "partial", "answers": {"style": "chaotic"}},
            "answers.style",
        ),
        ("pain", "qual", {"level": "partial", "answers": {"cost": "lots"}}, "answers.cost"),
        ("decision", "qual", {"level": "partial", "surprise": 1}, "surprise"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(org, deal, element, pack, body, field):
    response = call(api_client(org.rep_a1), "put", el_path(deal, element, pack=pack), body)
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert not ElementAssessment.objects.exists()


def test_contact_from_another_account_is_refused(org, deal):
    stranger = make_contact(make_account(owner=org.rep_a1), first="Sam", last="Stranger")
    response = call(
        api_client(org.rep_a1),
        "put",
        el_path(deal, "decision"),
        {"level": "partial", "contacts": [stranger.pk]},
    )
    assert response.status_code == 422
    assert response.json()["field"] == "contacts"
    assert not ElementAssessment.objects.exists()


# --- buying influences --------------------------------------------------------------------


def influence(deal, **extra) -> dict:
    return {
        "pack": "sheet",
        "contact": contact(deal, "Economic").pk,
        "role": "economic",
        "degree": "high",
        "response_mode": "growth",
        "rating": 2,
        **extra,
    }


def test_influences_crud_with_locking_and_history(org, deal):
    client = api_client(org.rep_a1)
    path = f"/opportunities/{deal.pk}/buying-influences"
    created = call(client, "post", path, influence(deal, win_results="Recognition"))
    assert created.status_code == 201
    iid = created.json()["id"]
    assert call(client, "get", path).json()[0]["win_results"] == "Recognition"
    assert call(client, "post", path, influence(deal)).status_code == 422  # same contact & role
    assert call(client, "post", path, influence(deal, rating=6, role="coach")).json()["field"] == (
        "rating"
    )
    assert call(client, "put", f"{path}/{iid}", influence(deal, version=9)).status_code == 409
    updated = call(client, "put", f"{path}/{iid}", influence(deal, rating=-1, version=1))
    assert (updated.status_code, updated.json()["rating"]) == (200, -1)
    assert call(client, "delete", f"{path}/{iid}?version=1").status_code == 409
    assert call(client, "delete", f"{path}/{iid}?version=2").status_code == 204
    assert call(client, "get", path).json() == []
    history = call(client, "get", f"{path}/history").json()
    assert [h["action"] for h in history] == ["removed", "updated", "added"]
    assert {h["actor_id"] for h in history} == {org.rep_a1.pk}


def test_influences_need_a_pack_with_buying_influences_in_the_process(org, deal):
    client = api_client(org.rep_a1)
    path = f"/opportunities/{deal.pk}/buying-influences"
    response = call(client, "post", path, influence(deal, pack="qual"))
    assert (response.status_code, response.json()["field"]) == (422, "pack")
    plain = make_deal(org.rep_a1, process_key="plain_test", stage_key="first")
    response = call(
        client,
        "post",
        f"/opportunities/{plain.pk}/buying-influences",
        influence(plain),
    )
    assert (response.status_code, response.json()["field"]) == (422, "pack")
    assert not BuyingInfluence.objects.exists()
