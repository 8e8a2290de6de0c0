"""What issue 12 saw, as regressions: values past a deal field's bounds are refused (422 naming
the field, nothing stored), never cut or rounded, through the API and the pages alike; what is
allowed but doubtful (a close date past) is accepted with a warning; and a deal created in a
later stage passes that stage's gate as a move there would (issue 14, finding 3).

The organisation is built once for the module; each test runs in its own savepoint.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from milepost.pipeline.models import Opportunity, StageTransition
from milepost.pipeline.validation import DATE_MIN, date_max
from milepost.process.services import process_load
from milepost.testing.clients import api_client
from milepost.testing.factories import Org, ensure_default_processes, make_account, make_org
from milepost.testing.worlds import shared_world

pytestmark = pytest.mark.django_db

API = "/api/v1"
HX = {"HTTP_HX_REQUEST": "true"}
NEW_BUSINESS = Path(__file__).resolve().parents[2] / "process" / "defaults" / "new_business.yaml"
# The instant this module's dates (the parametrize lists included) are computed from.
NOW = timezone.now()
FUTURE = (timezone.localdate(NOW) + timedelta(days=60)).isoformat()


@pytest.fixture(autouse=True)
def _same_day(monkeypatch):
    """The dates above are computed at collection, the services read the clock when called: a
    run across midnight would move "today" between the two. The services see NOW."""
    monkeypatch.setattr(timezone, "now", lambda: NOW)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[Org]:
    with shared_world(django_db_blocker):
        ensure_default_processes()
        org = make_org()
        make_account("Acme", owner=org.rep_a1)
        yield org


@pytest.fixture
def org(world: Org, db) -> Org:
    return world


def _post(client: Client, path: str, body: dict, method: str = "post"):
    call = getattr(client, method)
    response = call(f"{API}{path}", data=json.dumps(body), content_type="application/json")
    return response, response.json() if response.content else None


def _create(org: Org, **body):
    return _post(
        api_client(org.rep_a1),
        "/opportunities",
        {"name": "Deal", "amount": "1000", "close_date": FUTURE, **body},
    )


# --- refused, nothing stored ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": "1e12"}, "amount"),
        ({"amount": 1e20}, "amount"),
        ({"amount": "1e20"}, "amount"),
        ({"amount": "9999999999999.99"}, "amount"),
        ({"amount": "1.005"}, "amount"),  # not rounded to 1.00 or 1.01
        ({"amount": "-0.01"}, "amount"),
        ({"amount": "NaN"}, "amount"),
        ({"name": "x" * 10_000}, "name"),  # not cut to 200
        ({"name": "x" * 201}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "Acme\x00deal"}, "name"),
        ({"name": "Acme \ud800 deal"}, "name"),
        ({"next_step": "call\x00"}, "next_step"),
        ({"next_step": "x" * 301}, "next_step"),
        ({"source": "s" * 65}, "source"),
        ({"source": "web\udc00"}, "source"),
        ({"currency": "ZZZ"}, "currency"),
        ({"currency": "US"}, "currency"),
        ({"close_date": "1999-12-31"}, "close_date"),
        ({"close_date": (date_max() + timedelta(days=1)).isoformat()}, "close_date"),
        ({"next_step_date": "0202-01-01"}, "next_step_date"),
        ({"probability": 101}, "probability"),
        ({"probability": -1}, "probability"),
    ],
)
def test_create_refuses_out_of_bounds_values(org, body, field):
    before = Opportunity.objects.count()
    response, data = _create(org, **body)
    assert response.status_code == 422, data
    assert data["field"] == field
    assert Opportunity.objects.count() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": "1e12"}, "amount"),
        ({"amount": "1e20"}, "amount"),
        ({"amount": "9999999999999.99"}, "amount"),
        ({"amount": "1.005"}, "amount"),
        ({"name": "n" * 10_000}, "name"),
        ({"name": None}, "name"),
        ({"lost_reason": "r" * 201}, "lost_reason"),
        ({"next_step": "a\x00b"}, "next_step"),
        ({"close_date": "2000-01-01", "next_step_date": "1970-01-01"}, "next_step_date"),
    ],
)
def test_patch_refuses_out_of_bounds_values(org, body, field):
    _, created = _create(org)
    response, data = _post(
        api_client(org.rep_a1),
        f"/opportunities/{created['id']}",
        {"version": 1, **body},
        method="patch",
    )
    assert response.status_code == 422, data
    assert data["field"] == field
    opp = Opportunity.objects.get(pk=created["id"])
    assert (opp.version, opp.amount, opp.name) == (1, Decimal("1000.00"), "Deal")


def test_pipeline_pages_stay_up_for_every_role_after_refused_amounts(org, client_for):
    for amount in ("1e12", "1e20", "9999999999999.99"):
        assert _create(org, amount=amount)[0].status_code == 422
    for user in org.everyone:
        client = client_for(user)
        for name in ("pipeline:board", "pipeline:table"):
            assert client.get(reverse(name)).status_code == 200, (user, name)


# --- accepted: the bounds themselves, and warnings --------------------------------------------


def test_bounds_themselves_are_accepted_exactly(org):
    response, data = _create(
        org,
        name="  " + "n" * 200 + "  ",
        amount="999999999999.99",
        close_date=date_max().isoformat(),
        next_step_date=DATE_MIN.isoformat(),
        next_step="s" * 300,
        source="w" * 64,
        currency="eur",
        probability=0,
    )
    assert response.status_code == 201, data
    assert data["name"] == "n" * 200
    assert data["amount"] == "999999999999.99"
    assert data["currency"] == "EUR"
    assert (data["probability"], data["probability_overridden"]) == (0, True)


def test_past_close_date_is_accepted_with_a_warning(org):
    past = (timezone.localdate(NOW) - timedelta(days=3)).isoformat()
    response, data = _create(org, close_date=past)
    assert response.status_code == 201
    assert data["close_date"] == past
    assert len(data["warnings"]) == 1
    assert "3 days in the past" in data["warnings"][0]
    response, data = _post(
        api_client(org.rep_a1),
        f"/opportunities/{data['id']}",
        {"version": 1, "close_date": FUTURE},
        method="patch",
    )
    assert response.status_code == 200
    assert data["warnings"] == []


def test_deal_priced_from_zero_keeps_every_page_up(org, client_for):
    """A deal created at 0 and priced 50,000 made the amount_changed signal divide by zero."""
    _, created = _create(org, amount="0")
    assert created["amount"] == "0.00"
    response, data = _post(
        api_client(org.rep_a1),
        f"/opportunities/{created['id']}",
        {"version": 1, "amount": "50000"},
        method="patch",
    )
    assert response.status_code == 200, data
    manager = client_for(org.manager_a)
    for path in (
        reverse("inspection:list"),
        reverse("inspection:list") + f"?team={org.manager_a.pk}",
        reverse("pipeline:detail", args=[created["id"]]),
        reverse("inspection:explain", args=[created["id"]]),
        f"{API}/inspection/deals/{created['id']}",
        f"{API}/coaching/reps/{org.rep_a1.pk}/agenda-draft",
    ):
        assert manager.get(path).status_code == 200, path
    signals = manager.get(f"{API}/inspection/deals/{created['id']}").json()["signals"]
    reasons = {s["signal"]: s["reason"] for s in signals}
    assert reasons["amount_changed"] == "amount set from 0 to 50000"


# --- gated create (issue 14, finding 3) ------------------------------------------------------


def _policy(policy: str) -> None:
    text = NEW_BUSINESS.read_text().replace("gate_policy: warn", f"gate_policy: {policy}")
    assert f"gate_policy: {policy}" in text
    process_load(text=text, source_name=f"new_business ({policy})")


def test_create_past_the_first_stage_under_block_is_refused_naming_stage_key(org):
    _policy("block")
    before = (Opportunity.objects.count(), StageTransition.objects.count())
    response, data = _create(org, stage_key="commit", justification="Board said yes already")
    assert response.status_code == 422
    assert data["field"] == "stage_key"
    assert "not met" in data["detail"]
    assert (Opportunity.objects.count(), StageTransition.objects.count()) == before
    # The first stage needs no gate.
    assert _create(org, stage_key="engage")[0].status_code == 201


def test_create_past_the_first_stage_under_warn_needs_and_records_a_justification(org):
    _policy("warn")
    before = Opportunity.objects.count()
    response, data = _create(org, stage_key="commit")
    assert response.status_code == 422
    assert data["field"] == "justification"
    assert Opportunity.objects.count() == before
    response, data = _create(org, stage_key="commit", justification="Inherited from a partner")
    assert response.status_code == 201, data
    assert data["stage"]["key"] == "commit"
    (first,) = StageTransition.objects.filter(opportunity_id=data["id"])
    assert first.from_stage_id is None
    assert first.criteria_result["justification"] == "Inherited from a partner"
    assert first.criteria_result["forward"] is True
    assert first.criteria_result["unmet"]


# --- the pages say the same as the API ---------------------------------------------------------


def _new_form(**values) -> dict:
    return {
        "name": "Page deal",
        "amount": "10",
        "currency": "USD",
        "close_date": FUTURE,
        "stage": "new_business:engage",
        **values,
    }


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"amount": "1e12"}, "amount"),
        ({"amount": "1.005"}, "amount"),
        ({"name": "x" * 10_000}, "name"),
        ({"name": "bad\x00name"}, "name"),
        ({"currency": "ZZZ"}, "currency"),
        ({"close_date": "1999-01-01"}, "close_date"),
    ],
)
def test_new_deal_form_shows_the_error_next_to_the_field_and_focuses_it(
    org, client_for, values, field
):
    client = client_for(org.rep_a1)
    before = Opportunity.objects.count()
    response = client.post(reverse("pipeline:new"), _new_form(**values), **HX)
    assert response.status_code == 422
    html = response.content.decode()
    assert f'id="id_{field}_error"' in html
    focused = html[: html.index("autofocus")].rsplit("<", 1)[-1]
    assert f'name="{field}"' in focused
    assert Opportunity.objects.count() == before


def test_new_deal_form_warns_about_a_past_close_date(org, client_for):
    client = client_for(org.rep_a1)
    past = (timezone.localdate(NOW) - timedelta(days=1)).isoformat()
    response = client.post(reverse("pipeline:new"), _new_form(close_date=past), follow=True)
    assert response.status_code == 200
    assert "1 day in the past" in response.content.decode()
    assert Opportunity.objects.filter(name="Page deal").count() == 1


def test_new_deal_form_in_a_later_stage_meets_the_gate(org, client_for):
    client = client_for(org.rep_a1)
    response = client.post(reverse("pipeline:new"), _new_form(stage="new_business:commit"), **HX)
    assert response.status_code == 422
    assert 'id="id_justification_error"' in response.content.decode()
    assert not Opportunity.objects.filter(name="Page deal").exists()
    response = client.post(
        reverse("pipeline:new"),
        _new_form(stage="new_business:commit", justification="Signed letter of intent"),
        **HX,
    )
    assert response.status_code == 204
    opp = Opportunity.objects.get(name="Page deal")
    assert response["HX-Redirect"] == reverse("pipeline:detail", args=[opp.pk])
    assert opp.stage.key == "commit"
