"""The methodology API: packs, the deal's panel, element scores with locking and history, buying
influences, error shapes (404 hidden, 409 stale, 422 with field), and permission probes of every
endpoint as every role (session and token auth)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from django.test import Client

from milepost.methodology.models import (
    BuyingInfluence,
    BuyingInfluenceEvent,
    ElementAssessment,
    ElementAssessmentEvent,
)
from milepost.methodology.services import influence_save
from milepost.methodology.tests.panel_support import (
    contact,
    give_role,
    load_test_methodology,
    make_deal,
)
from milepost.testing.clients import api_client
from milepost.testing.factories import make_account, make_contact
from milepost.testing.probes import PLACEHOLDER, probed

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
    stale = call(client, "put", el_path(deal, "economic_buyer"), {"level": "confirmed"})
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


@pytest.fixture
def scored(org, deal):
    """The owner scored pain and recorded one influence."""
    call(api_client(org.rep_a1), "put", el_path(deal, "pain"), {"level": "partial"})
    return influence_save(
        user=org.rep_a1,
        opportunity_id=deal.pk,
        pack="sheet",
        contact_id=contact(deal, "Economic").pk,
        role="economic",
        degree="high",
        response_mode="growth",
    )


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
