"""The snooze API and pages as every role, with other teams' deals and snoozes: a hidden deal
or snooze is a 404 like a missing one, a rep may see but not snooze (403), a refused or bad
request writes nothing and names the field. Also the list's "Snoozed (n)" tab and the deal
page showing the chance and the snoozes. The world is built once for the module; each test
runs in its own savepoint."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from milepost.core.formatting import date_short
from milepost.inspection.models import Snooze, SnoozeEvent
from milepost.inspection.snoozes.services import snooze_create
from milepost.inspection.tests.test_views import World, build_world
from milepost.testing.factories import ensure_default_processes, make_org
from milepost.testing.probes import probed
from milepost.testing.worlds import shared_world

pytestmark = pytest.mark.django_db

API = "/api/v1/inspection/snoozes"
PAGE_CREATE = "/inspection/deals/{deal}/snooze/"
PAGE_END = "/inspection/snoozes/{snooze}/end/"
PROBED = probed(
    ("get", API),
    ("post", API),
    ("get", f"{API}/1"),
    ("post", f"{API}/1/end"),
    ("post", PAGE_CREATE.format(deal=1)),
    ("post", PAGE_END.format(snooze=1)),
)
ROLES = ["admin", "leader", "manager_a", "manager_b", "rep_a1", "rep_b1", "rep_solo"]
# Big A1 belongs to rep_a1 (manager_a's team): who sees it, who may snooze it. By hand.
SEES = {"admin", "leader", "manager_a", "rep_a1"}
SNOOZES = {"admin", "leader", "manager_a"}
UNTIL = (timezone.now().date() + timedelta(days=30)).isoformat()


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    def build() -> World:
        ensure_default_processes()
        return build_world(make_org())

    yield from shared_world(django_db_blocker, build)


def _expected(role: str, ok: int) -> int:
    if role in SNOOZES:
        return ok
    return 403 if role in SEES else 404


def _snoozed(world: World) -> Snooze:
    return snooze_create(
        user=world.org.manager_a,
        opportunity_id=world.big_a1.pk,
        reason="Customer's fiscal year starts in March",
        until=timezone.now().date() + timedelta(days=30),
    )


def _post(client, path: str, body: dict):
    return client.post(path, json.dumps(body), content_type="application/json")


@pytest.mark.parametrize("role", ROLES)
def test_api_create_as_each_role(world, client_for, role):
    client = client_for(getattr(world.org, role))
    body = {"opportunity_id": world.big_a1.pk, "reason": "Budget frozen", "until": UNTIL}
    response = _post(client, API, body)
    assert response.status_code == _expected(role, 201), response.content
    if response.status_code == 201:
        data = response.json()
        assert (data["active"], data["signal"], data["reason"]) == (True, "", "Budget frozen")
        assert [e["action"] for e in data["history"]] == ["created"]
        assert data["history"][0]["actor_id"] == getattr(world.org, role).pk
    else:
        assert not Snooze.objects.exists()
        assert not SnoozeEvent.objects.exists()


@pytest.mark.parametrize("role", ROLES)
def test_api_read_and_end_as_each_role(world, client_for, role):
    snooze = _snoozed(world)
    client = client_for(getattr(world.org, role))
    detail = client.get(f"{API}/{snooze.pk}")
    assert detail.status_code == (200 if role in SEES else 404)
    listed = client.get(API).json()["items"]
    assert [z["id"] for z in listed] == ([snooze.pk] if role in SEES else [])
    ended = _post(client, f"{API}/{snooze.pk}/end", {"version": snooze.version})
    assert ended.status_code == _expected(role, 200), ended.content
    snooze.refresh_from_db()
    if role in SNOOZES:
        data = ended.json()
        assert data["active"] is False
        assert data["version"] == 2
        assert [e["action"] for e in data["history"]] == ["created", "ended"]
        assert snooze.ended_by == getattr(world.org, role)
    else:
        assert snooze.ended_at is None
        assert snooze.version == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"reason": "fiscal\u0000year"}, "reason"),
        ({"reason": "   "}, "reason"),
        ({"reason": "x" * 501}, "reason"),
        ({"until": "2001-01-01"}, "until"),
        ({"until": "2999-01-01"}, "until"),
        ({"until": "soon"}, "until"),
        ({"signal": "nope"}, "signal"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_api_bad_input_is_a_422_naming_the_field(world, client_for, change, field):
    body = {"opportunity_id": world.big_a1.pk, "reason": "Budget frozen", "until": UNTIL}
    response = _post(client_for(world.org.manager_a), API, {**body, **change})
    assert response.status_code == 422, response.content
    assert response.json()["field"] == field
    assert not Snooze.objects.exists()


def test_api_end_needs_the_current_version(world, client_for):
    snooze = _snoozed(world)
    client = client_for(world.org.manager_a)
    missing = _post(client, f"{API}/{snooze.pk}/end", {})
    assert (missing.status_code, missing.json()["field"]) == (422, "version")
    stale = _post(client, f"{API}/{snooze.pk}/end", {"version": 7})
    assert (stale.status_code, stale.json()["current_version"]) == (409, 1)
    assert _post(client, f"{API}/{snooze.pk}/end", {"version": 1}).status_code == 200
    again = _post(client, f"{API}/{snooze.pk}/end", {"version": 2})
    assert (again.status_code, again.json()["field"]) == (422, "snooze")


def test_api_deal_list_leaves_out_snoozed_deals_and_lists_them_on_request(world, client_for):
    _snoozed(world)
    client = client_for(world.org.manager_a)

    def ids(query: str) -> list[int]:
        response = client.get(f"/api/v1/inspection/deals{query}")
        assert response.status_code == 200
        return [d["opportunity_id"] for d in response.json()["items"]]

    assert ids("") == [world.mid_a2.pk]
    assert ids("?snoozed=yes") == [world.big_a1.pk]
    assert ids("?snoozed=all") == [world.big_a1.pk, world.mid_a2.pk]
    both = client.get("/api/v1/inspection/deals?snoozed=all").json()["items"]
    assert [d["snoozed"] for d in both] == [True, False]
    assert client.get("/api/v1/inspection/deals?snoozed=maybe").json()["field"] == "snoozed"


@pytest.mark.parametrize("role", ROLES)
def test_page_snooze_and_end_as_each_role(world, client_for, role):
    client = client_for(getattr(world.org, role))
    back = f"/pipeline/opportunities/{world.big_a1.pk}/"
    form = {"reason": "Budget frozen", "until": UNTIL, "signal": "", "next": back}
    created = client.post(PAGE_CREATE.format(deal=world.big_a1.pk), form)
    assert created.status_code == _expected(role, 302)
    if role in SNOOZES:
        assert created["Location"] == back
        snooze = Snooze.objects.get()
    else:
        assert not Snooze.objects.exists()
        snooze = _snoozed(world)
    ended = client.post(PAGE_END.format(snooze=snooze.pk), {"version": snooze.version})
    assert ended.status_code == _expected(role, 302)
    snooze.refresh_from_db()
    assert (snooze.ended_at is not None) == (role in SNOOZES)


def test_page_bad_input_says_which_field_and_writes_nothing(world, client_for):
    client = client_for(world.org.manager_a)
    url = PAGE_CREATE.format(deal=world.big_a1.pk)
    for form, field in [
        ({"reason": "r", "until": "2001-01-01"}, "until"),
        ({"reason": "", "until": UNTIL}, "reason"),
        ({"reason": "a\x00b", "until": UNTIL}, "reason"),
        ({"reason": "r", "until": UNTIL, "signal": "nope"}, "signal"),
    ]:
        response = client.post(url, form)
        assert response.status_code == 422
        assert f'data-field="{field}"' in response.content.decode()
    # An outside "next" is not followed.
    out = client.post(url, {"reason": "r", "until": UNTIL, "next": "https://evil.example/"})
    assert out["Location"] == f"/inspection/deals/{world.big_a1.pk}/"
    assert Snooze.objects.count() == 1


def test_list_page_has_a_snoozed_tab_with_reason_who_and_until(world, client_for):
    snooze = _snoozed(world)
    client = client_for(world.org.manager_a)
    html = client.get("/inspection/").content.decode()
    rows = [int(i) for i in re.findall(r'id="deal-row-(\d+)"', html)]
    assert rows == [world.mid_a2.pk]
    assert "Snoozed (1)" in html
    html = client.get("/inspection/?snoozed=yes").content.decode()
    assert [int(i) for i in re.findall(r'id="deal-row-(\d+)"', html)] == [world.big_a1.pk]
    row = re.search(rf'data-testid="row-snooze-{snooze.pk}">(.*?)</p>', html).group(1)
    assert (
        f'until <time datetime="{snooze.until.isoformat()}">{date_short(snooze.until)}</time>'
        in row
    )
    assert "Manager Manager_A" in row
    assert "fiscal year starts in March" in row


def test_deal_page_and_explanation_show_the_chance_and_the_snoozes(world, client_for):
    fired = client_for(world.org.manager_a).get(f"/inspection/deals/{world.big_a1.pk}/")
    form = f'action="/inspection/deals/{world.big_a1.pk}/snooze/"'
    assert form in fired.content.decode()  # the form, for a manager
    own = client_for(world.org.rep_a1).get(f"/inspection/deals/{world.big_a1.pk}/")
    assert form not in own.content.decode()  # not for the rep
    snooze = snooze_create(
        user=world.org.manager_a,
        opportunity_id=world.big_a1.pk,
        signal="close_date_past",
        reason="Waiting for the board",
        until=timezone.now().date() + timedelta(days=3),
    )
    for user in (world.org.manager_a, world.org.rep_a1):
        client = client_for(user)
        for url in (
            f"/inspection/deals/{world.big_a1.pk}/",
            f"/pipeline/opportunities/{world.big_a1.pk}/",
        ):
            html = client.get(url).content.decode()
            assert f'data-testid="snooze-{snooze.pk}"' in html, url
            assert "Waiting for the board" in html
            assert "likely to slip or be lost" in html
            assert "Total risk" not in html
            # Only managers and above get the forms.
            assert ("End snooze now" in html) == (user == world.org.manager_a)
    html = (
        client_for(world.org.manager_a)
        .get(f"/pipeline/opportunities/{world.big_a1.pk}/")
        .content.decode()
    )
    assert re.search(r'data-testid="risk">\d+%<', html)
    assert (
        'data-signal="close_date_past"' not in html.split('id="process-map"')[1].split("Snoozed")[0]
    )


def test_api_signal_snooze_takes_the_signal_out_of_the_deal_and_its_chance(world, client_for):
    client = client_for(world.org.manager_a)
    url = f"/api/v1/inspection/deals/{world.big_a1.pk}"
    before = client.get(url).json()
    signal = before["signals"][0]["signal"]
    body = {"opportunity_id": world.big_a1.pk, "signal": signal, "reason": "r", "until": UNTIL}
    created = _post(client, API, body)
    assert (created.status_code, created.json()["signal"]) == (201, signal)
    after = client.get(url).json()
    assert [s["signal"] for s in after["signals"]] == [s["signal"] for s in before["signals"][1:]]
    assert after["risk_probability"] < before["risk_probability"]
    listed = client.get(f"{API}?opportunity={world.big_a1.pk}").json()["items"]
    assert [(z["signal"], z["active"]) for z in listed] == [(signal, True)]
