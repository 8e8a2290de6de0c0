"""The evidence and criteria API: statuses from real rows, every write, locking and bad input.
The permission probes of every endpoint are in ``test_api_probes.py``."""

from __future__ import annotations

import json
import math
from datetime import date, timedelta

import pytest
from django.test import Client

from milepost.evidence.models import Evidence, EvidenceEvent
from milepost.evidence.services import evidence_record
from milepost.pipeline.models import Opportunity
from milepost.testing.clients import api_client
from milepost.testing.factories import make_account, make_contact, make_opportunity

pytestmark = pytest.mark.django_db

API = "/api/v1"
REP_ONLY = "competition_known"  # verifier rep, no rule
MANAGER_ONLY = "paper_process_mapped"  # verifier manager, no rule
BUYER_ONLY = "problem_and_cost_confirmed"  # verifier buyer, no rule
RULE_MET = "fit_with_ideal_customer"  # rule: the deal has an account


def call(client: Client, method: str, path: str, body: dict | None = None):
    if method == "get":
        return client.get(f"{API}{path}")
    return getattr(client, method)(
        f"{API}{path}", data=json.dumps(body or {}), content_type="application/json"
    )


@pytest.fixture
def deal(org, processes) -> Opportunity:
    account = make_account(owner=org.rep_a1)
    make_contact(account, first="Bea", last="Buyer")
    return make_opportunity(org.rep_a1, account=account, stage_key="negotiate", name="Big deal")


def criterion(body: dict, key: str) -> dict:
    return next(c for s in body["stages"] for c in s["criteria"] if c["key"] == key)


def ev_path(opp: Opportunity, key: str, suffix: str = "") -> str:
    return f"/opportunities/{opp.pk}/evidence/{key}{suffix}"


# --- criteria -------------------------------------------------------------------------------------


def test_criteria_show_statuses_reasons_control_and_risk(org, deal):
    response = call(api_client(org.rep_a1), "get", f"/opportunities/{deal.pk}/criteria")
    assert response.status_code == 200
    body = response.json()
    assert [s["key"] for s in body["stages"]] == [
        "engage",
        "discover",
        "commit",
        "evaluate",
        "justify",
        "negotiate",
    ]
    assert body["claimed_stage"] == "negotiate"
    assert body["verified_stage"] == "engage"
    assert body["under_control"] is False
    assert body["first_gap"] == "engage"
    fit = criterion(body, RULE_MET)
    assert fit["status"] == "met"
    assert fit["rule"]["status"] == "met"
    assert fit["evidence"] is None
    rep = criterion(body, REP_ONLY)
    assert (rep["status"], rep["rule"], rep["needs_evidence"]) == ("unmet", None, True)
    assert rep["reason"] == "no evidence recorded (needs the rep's evidence)"
    # The chance of a loss or slip, as a percent: the process weights through the fallback
    # model (no fit stored), uncapped.
    points = sum(sig["weight"] for sig in body["signals"])
    assert body["risk"] == round(100 / (1 + math.exp(3.0 - 0.04 * points)))
    assert "criteria_unmet" in {sig["signal"] for sig in body["signals"]}
    assert body["next_actions"]


def test_closed_deal_criteria_have_no_signals(org, processes):
    opp = make_opportunity(org.rep_a1, stage_key="won")
    body = call(api_client(org.rep_a1), "get", f"/opportunities/{opp.pk}/criteria").json()
    assert body["claimed_kind"] == "won"
    assert body["signals"] == []
    assert body["risk"] == 0
    assert body["next_actions"] == []


# --- writes ---------------------------------------------------------------------------------------


def test_put_records_then_replaces_with_the_version(org, deal):
    client = api_client(org.rep_a1, "token")
    created = call(client, "put", ev_path(deal, REP_ONLY), {"note": "Two rivals named"})
    assert created.status_code == 201
    assert created.json()["level"] == "rep"
    assert created.json()["version"] == 1
    body = call(client, "get", f"/opportunities/{deal.pk}/criteria").json()
    assert criterion(body, REP_ONLY)["status"] == "met"
    assert criterion(body, REP_ONLY)["evidence"]["note"] == "Two rivals named"
    replaced = call(client, "put", ev_path(deal, REP_ONLY), {"note": "Three rivals", "version": 1})
    assert replaced.status_code == 200
    assert replaced.json()["version"] == 2
    listed = call(client, "get", f"/opportunities/{deal.pk}/evidence").json()
    assert [(e["criterion_key"], e["note"]) for e in listed] == [(REP_ONLY, "Three rivals")]


def test_rep_evidence_leaves_a_buyer_criterion_unknown_until_the_buyer_confirms(org, deal):
    client = api_client(org.rep_a1)
    call(client, "put", ev_path(deal, BUYER_ONLY), {"note": "Pain is 40k a month"})
    body = call(client, "get", f"/opportunities/{deal.pk}/criteria").json()
    assert criterion(body, BUYER_ONLY)["status"] == "unknown"
    contact = deal.account.contacts.get()
    confirmed = call(
        client,
        "put",
        ev_path(deal, BUYER_ONLY),
        {
            "note": "Pain is 40k a month, confirmed by e-mail",
            "buyer_confirmed": True,
            "confirmed_by": contact.pk,
            "evidence_date": (date.today() - timedelta(days=1)).isoformat(),
            "artefact_kind": "email",
            "artefact_text": (
                "From: Bea Buyer <bea@buyer.example>\nDate: Mon, 7 Dec 2026 09:00:00 +0000\n"
                "Subject: Re: recap\n\nYes, 40k a month is right."
            ),
            "version": 1,
        },
    )
    assert confirmed.status_code == 200
    # the rep's claim counts at the rep's level until a manager accepts the e-mail
    assert (confirmed.json()["level"], confirmed.json()["buyer_claim"]) == ("rep", "pending")
    assert confirmed.json()["confirmed_by_name"] == "Bea Buyer"
    assert confirmed.json()["artefact"]["email_from"] == "bea@buyer.example"
    body = call(client, "get", f"/opportunities/{deal.pk}/criteria").json()
    row = criterion(body, BUYER_ONLY)
    assert (row["status"], row["by"], row["self_assessed"]) == ("unknown", "rep_pending", True)
    assert row["reason"] == "buyer confirmation claimed, awaiting verification"
    assert (
        call(client, "post", ev_path(deal, BUYER_ONLY) + "/accept", {"version": 2}).status_code
        == 422
    )
    accepted = call(
        api_client(org.manager_a), "post", ev_path(deal, BUYER_ONLY) + "/accept", {"version": 2}
    )
    assert accepted.status_code == 200, accepted.content
    assert (accepted.json()["level"], accepted.json()["buyer_claim"]) == ("buyer", "accepted")
    body = call(client, "get", f"/opportunities/{deal.pk}/criteria").json()
    row = criterion(body, BUYER_ONLY)
    assert (row["status"], row["by"], row["self_assessed"]) == ("met", "artefact_manager", False)


def test_contact_of_another_account_is_a_422_naming_confirmed_by(org, deal):
    other = make_contact(make_account(owner=org.rep_a1), first="Otto")
    response = call(
        api_client(org.rep_a1),
        "put",
        ev_path(deal, BUYER_ONLY),
        {
            "note": "Confirmed on a call",
            "buyer_confirmed": True,
            "confirmed_by": other.pk,
            "evidence_date": date.today().isoformat(),
        },
    )
    assert response.status_code == 422
    assert response.json()["field"] == "confirmed_by"
    assert not Evidence.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"note": "x"}, "note"),
        ({"note": "A good note", "link": "ftp://x"}, "link"),
        ({"note": "A good note", "evidence_date": "2999-01-01"}, "evidence_date"),
        ({"note": "A good note", "buyer_confirmed": True}, "confirmed_by"),
        ({"note": "A good note", "artefact_kind": "fax"}, "artefact_kind"),
        ({"note": "A good note", "artefact_kind": "email", "artefact_text": "hi"}, "artefact_text"),
        ({"note": "A good note", "artefact_text": "x" * 100_001}, "artefact_text"),
        ({"note": "A good note", "confirmed_by": 2**70}, "confirmed_by"),
        ({"note": "A good note", "nope": 1}, "nope"),
        ({"note": "A good note", "version": 3}, "version"),
    ],
)
def test_bad_input_is_a_422_naming_the_field_and_writes_nothing(org, deal, body, field):
    response = call(api_client(org.rep_a1), "put", ev_path(deal, REP_ONLY), body)
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert not EvidenceEvent.objects.exists()


def test_unknown_criterion_is_a_422(org, deal):
    response = call(api_client(org.rep_a1), "put", ev_path(deal, "no_such"), {"note": "abc"})
    assert response.status_code == 422
    assert response.json()["field"] == "criterion"


def test_manager_verifies_and_the_owner_is_refused(org, deal):
    evidence_record(
        user=org.rep_a1, opportunity_id=deal.pk, criterion_key=MANAGER_ONLY, note="Mapped"
    )
    owner = call(
        api_client(org.rep_a1), "post", ev_path(deal, MANAGER_ONLY, "/verify"), {"version": 1}
    )
    assert owner.status_code == 422
    assert owner.json()["field"] == "user"
    manager = api_client(org.manager_a)
    response = call(manager, "post", ev_path(deal, MANAGER_ONLY, "/verify"), {"version": 1})
    assert response.status_code == 200
    assert response.json()["level"] == "manager"
    assert response.json()["verified_by_id"] == org.manager_a.pk
    body = call(manager, "get", f"/opportunities/{deal.pk}/criteria").json()
    assert criterion(body, MANAGER_ONLY)["status"] == "met"


def test_reject_needs_a_reason_and_makes_a_rule_met_criterion_unmet(org, deal):
    evidence_record(user=org.rep_a1, opportunity_id=deal.pk, criterion_key=RULE_MET, note="ICP fit")
    manager = api_client(org.manager_a)
    path = ev_path(deal, RULE_MET, "/reject")
    missing = call(manager, "post", path, {"version": 1})
    assert missing.status_code == 422
    assert missing.json()["field"] == "reason"
    blank = call(manager, "post", path, {"version": 1, "reason": "  "})
    assert blank.status_code == 422
    assert blank.json()["field"] == "reason"
    assert Evidence.objects.get().state == "active"
    response = call(manager, "post", path, {"version": 1, "reason": "Too small for us"})
    assert response.status_code == 200
    assert response.json()["state"] == "rejected"
    body = call(manager, "get", f"/opportunities/{deal.pk}/criteria").json()
    fit = criterion(body, RULE_MET)
    assert fit["rule"]["status"] == "met"
    assert fit["status"] == "unmet"
    assert fit["reason"] == "evidence rejected: Too small for us"


def test_withdraw_and_history_in_order(org, deal):
    rep = api_client(org.rep_a1)
    manager = api_client(org.manager_a)
    call(rep, "put", ev_path(deal, REP_ONLY), {"note": "First note"})
    call(rep, "put", ev_path(deal, REP_ONLY), {"note": "Second note", "version": 1})
    call(manager, "post", ev_path(deal, REP_ONLY, "/verify"), {"version": 2})
    withdrawn = call(rep, "post", ev_path(deal, REP_ONLY, "/withdraw"), {"version": 3})
    assert withdrawn.status_code == 200
    assert withdrawn.json()["state"] == "withdrawn"
    body = call(rep, "get", f"/opportunities/{deal.pk}/criteria").json()
    assert criterion(body, REP_ONLY)["status"] == "unmet"
    history = call(rep, "get", ev_path(deal, REP_ONLY, "/history")).json()
    assert [(e["action"], e["actor_id"]) for e in history] == [
        ("recorded", org.rep_a1.pk),
        ("updated", org.rep_a1.pk),
        ("verified", org.manager_a.pk),
        ("withdrawn", org.rep_a1.pk),
    ]
    assert [e["note"] for e in history[:2]] == ["First note", "Second note"]
    assert call(rep, "get", ev_path(deal, RULE_MET, "/history")).json() == []


def test_replacing_evidence_without_its_version_is_a_422_naming_it(org, deal):
    """Issue 14: recording anew over existing evidence without the version read overwrote it."""
    evidence_record(user=org.rep_a1, opportunity_id=deal.pk, criterion_key=REP_ONLY, note="Rivals")
    before = list(Evidence.objects.values())
    response = call(api_client(org.manager_a), "put", ev_path(deal, REP_ONLY, ""), {"note": "New"})
    assert response.status_code == 422, response.content
    assert response.json()["field"] == "version"
    assert list(Evidence.objects.values()) == before


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("put", "", {"note": "Overwritten", "version": 1}),
        ("post", "/verify", {"version": 1}),
        ("post", "/reject", {"version": 1, "reason": "Not convincing"}),
        ("post", "/withdraw", {"version": 1}),
    ],
)
def test_stale_version_is_a_409_and_writes_nothing(org, deal, method, suffix, body):
    evidence_record(user=org.rep_a1, opportunity_id=deal.pk, criterion_key=REP_ONLY, note="Rivals")
    evidence_record(
        user=org.rep_a1,
        opportunity_id=deal.pk,
        criterion_key=REP_ONLY,
        note="Rivals again",
        expected_version=1,
    )
    before = list(Evidence.objects.values())
    events = EvidenceEvent.objects.count()
    response = call(api_client(org.manager_a), method, ev_path(deal, REP_ONLY, suffix), body)
    assert response.status_code == 409
    assert response.json()["current_version"] == 2
    assert list(Evidence.objects.values()) == before
    assert EvidenceEvent.objects.count() == events
