"""PRIVACY PROBES: every 1:1 page and API endpoint as each role, with other people's ids.

The rule: the rep, the session's manager and managers above the rep see a rep's coaching
records; peers, managers of other teams, reps outside the line and sales-ops admins (by role
alone) get 404, exactly as for a missing row, and a refused write stores nothing (no row, no
version bump, no mail). Runs on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from milepost.coaching.agenda.services import session_create_from_draft
from milepost.coaching.models import (
    ActionItem,
    AgendaItem,
    CoachingCadence,
    CoachingSession,
)
from milepost.coaching.sessions.services import action_item_add
from milepost.testing.clients import api_client
from milepost.testing.factories import make_opportunity, make_org
from milepost.testing.probes import PLACEHOLDER, probed
from milepost.testing.worlds import shared_world

pytestmark = pytest.mark.django_db

API = "/api/v1/coaching"
SEES = ("rep_a1", "manager_a", "leader")
HIDDEN = ("rep_a2", "manager_b", "admin", "rep_solo")


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Built once for the module's probes; each probe's writes are undone after it."""
    yield from shared_world(django_db_blocker, _build_world)


def _build_world() -> dict:
    org = make_org()
    for u in org.everyone:
        u.email = f"{u.username}@example.com"
        u.save()
    deal = make_opportunity(org.rep_a1, stage_key="commit", amount="80000", name="Acme renewal")
    when = timezone.now() + timedelta(days=2)
    session = session_create_from_draft(org.manager_a, org.rep_a1.id, when)
    action = action_item_add(
        user=org.manager_a,
        session_id=session.id,
        title="Book the economic buyer meeting",
        due_date=date.today() + timedelta(days=5),
        owner_id=org.rep_a1.id,
        opportunity_id=deal.id,
    )
    CoachingCadence.objects.create(
        manager=org.manager_a,
        rep=org.rep_a1,
        time_of_day="10:00",
        starts_on=date.today(),
    )
    item = session.items.order_by("position").first()
    assert item is not None, "the draft has at least one generated item"
    return {"org": org, "deal": deal, "session": session, "action": action, "item": item}


def snapshot() -> tuple:
    return (
        list(
            CoachingSession.objects.order_by("id").values_list("id", "version", "status", "notes")
        ),
        list(AgendaItem.objects.order_by("id").values_list("id", "position", "title", "notes")),
        list(ActionItem.objects.order_by("id").values_list("id", "status", "version", "title")),
        list(CoachingCadence.objects.order_by("id").values_list("id", "version")),
        len(mail.outbox),
    )


def page_reads(w) -> list[str]:
    s = w["session"].id
    return [f"/coaching/sessions/{s}/", f"/coaching/sessions/{s}/invite.ics"]


def api_reads(w) -> list[str]:
    s, a = w["session"].id, w["action"].id
    return [
        f"{API}/sessions/{s}",
        f"{API}/sessions/{s}/invite.ics",
        f"{API}/action-items/{a}",
    ]


def page_writes(w) -> list[tuple[str, dict]]:
    s, i, a = w["session"].id, w["item"].id, w["action"].id
    v = w["session"].version
    rep = w["org"].rep_a1.id
    return [
        (f"/coaching/sessions/{s}/items/add/", {"title": "Sneaky item", "version": v}),
        (f"/coaching/sessions/{s}/items/{i}/move/", {"direction": "down", "version": v}),
        (f"/coaching/sessions/{s}/items/{i}/remove/", {"version": v}),
        (f"/coaching/sessions/{s}/items/{i}/update/", {"notes": "peek", "version": v}),
        (f"/coaching/sessions/{s}/update/", {"notes": "peek", "version": v}),
        (f"/coaching/sessions/{s}/start/", {"version": v}),
        (f"/coaching/sessions/{s}/cancel/", {"version": v}),
        (
            f"/coaching/sessions/{s}/actions/add/",
            {"title": "Sneaky", "owner": rep, "due_date": "2030-01-01"},
        ),
        (f"/coaching/actions/{a}/status/", {"status": "done", "version": 1}),
        (f"/coaching/sessions/{s}/invite/mail/", {}),
        (
            f"/coaching/reps/{rep}/sessions/new/",
            {"scheduled_for": "2030-01-01T10:00", "duration_minutes": 30},
        ),
        (f"/coaching/reps/{rep}/sessions/next/", {}),
        (
            f"/coaching/reps/{rep}/cadence/",
            {
                "every_weeks": 2,
                "weekday": 3,
                "time_of_day": "09:00",
                "duration_minutes": 30,
                "timezone": "UTC",
                "starts_on": "2030-01-01",
            },
        ),
        (f"/coaching/reps/{rep}/cadence/", {"clear": "1"}),
    ]


def api_writes(w) -> list[tuple[str, str, dict]]:
    s, i, a = w["session"].id, w["item"].id, w["action"].id
    v = w["session"].version
    rep = w["org"].rep_a1.id
    return [
        ("patch", f"{API}/sessions/{s}", {"version": v, "notes": "peek"}),
        ("post", f"{API}/sessions/{s}/start", {"version": v}),
        ("post", f"{API}/sessions/{s}/complete", {"version": v}),
        ("post", f"{API}/sessions/{s}/cancel", {"version": v}),
        ("post", f"{API}/sessions/{s}/items", {"version": v, "title": "Sneaky item"}),
        ("patch", f"{API}/sessions/{s}/items/{i}", {"version": v, "notes": "peek"}),
        ("post", f"{API}/sessions/{s}/items/{i}/move", {"version": v, "direction": "down"}),
        ("delete", f"{API}/sessions/{s}/items/{i}?version={v}", {}),
        (
            "post",
            f"{API}/sessions/{s}/action-items",
            {"title": "Sneaky", "due_date": "2030-01-01", "owner_id": rep},
        ),
        ("patch", f"{API}/action-items/{a}", {"version": 1, "title": "Renamed"}),
        ("post", f"{API}/action-items/{a}/status", {"version": 1, "status": "done"}),
        (
            "post",
            f"{API}/sessions",
            {"rep_id": rep, "scheduled_for": "2030-01-01T10:00:00Z", "generate": False},
        ),
        (
            "put",
            f"{API}/reps/{rep}/cadence",
            {"time_of_day": "09:00", "starts_on": "2030-01-01", "weekday": 3},
        ),
        ("delete", f"{API}/reps/{rep}/cadence", {}),
    ]


# Lists and partials the tests below read as each role, besides the tables above.
LIST_READS = [
    f"{API}/sessions",
    f"{API}/action-items",
    "/coaching/actions/?status=all",
    "/coaching/",
    "/coaching/deals/{deal}/actions/",
    API + "/reps/{rep}/agenda-draft",
    API + "/reps/{rep}/cadence",
    "/coaching/reps/overdue/?rep={rep}",
]

PROBED = probed(
    *(("get", path) for path in page_reads(PLACEHOLDER) + api_reads(PLACEHOLDER)),
    *(("get", path.format(deal=1, rep=1)) for path in LIST_READS),
    *(("post", path) for path, _ in page_writes(PLACEHOLDER)),
    *((method, path) for method, path, _ in api_writes(PLACEHOLDER)),
)


def call(client: Client, method: str, path: str, body: dict | None = None):
    if method == "get":
        return client.get(path)
    return getattr(client, method)(
        path, data=json.dumps(body or {}), content_type="application/json"
    )


@pytest.mark.parametrize("who", SEES + HIDDEN)
def test_reads_follow_the_reporting_line(world, who):
    user = getattr(world["org"], who)
    client = api_client(user)
    expected = 200 if who in SEES else 404
    for path in page_reads(world) + api_reads(world):
        assert client.get(path).status_code == expected, (who, path)


@pytest.mark.parametrize("who", SEES + HIDDEN)
def test_lists_hold_only_visible_records(world, who):
    user = getattr(world["org"], who)
    client = api_client(user)
    sessions_path, actions_path, page_path, home_path = LIST_READS[:4]
    sessions = client.get(sessions_path).json()
    actions = client.get(actions_path).json()
    page = client.get(page_path).content.decode()
    home = client.get(home_path).content.decode()
    visible = who in SEES
    assert (world["session"].id in [s["id"] for s in sessions]) is visible
    assert (world["action"].id in [a["id"] for a in actions]) is visible
    assert ("Book the economic buyer meeting" in page) is visible
    if who != "manager_a" and who != "rep_a1":
        assert "Book the economic buyer meeting" not in home


@pytest.mark.parametrize("who", SEES + HIDDEN)
def test_deal_page_partial_shows_coaching_items_only_within_the_line(world, who):
    """The admin sees the deal (every deal) but not the coaching item on it; a peer rep does
    not see the deal at all."""
    user = getattr(world["org"], who)
    response = api_client(user).get(LIST_READS[4].format(deal=world["deal"].id))
    if who in ("rep_a2", "manager_b", "rep_solo"):
        assert response.status_code == 404
        return
    assert response.status_code == 200
    assert ("Book the economic buyer meeting" in response.content.decode()) is (who in SEES)


@pytest.mark.parametrize("who", SEES + HIDDEN)
def test_agenda_preview_only_for_managers_above_the_rep(world, who):
    user = getattr(world["org"], who)
    response = api_client(user).get(LIST_READS[5].format(rep=world["org"].rep_a1.id))
    assert response.status_code == (200 if who in ("manager_a", "leader") else 404)


@pytest.mark.parametrize("who", SEES + HIDDEN)
def test_a_cadence_is_read_only_by_the_manager_who_keeps_it(world, who):
    """manager_a keeps the cadence with rep_a1; the leader above, the rep and everyone else
    get 404, as for a rep without one."""
    user = getattr(world["org"], who)
    response = api_client(user).get(LIST_READS[6].format(rep=world["org"].rep_a1.id))
    assert response.status_code == (200 if who == "manager_a" else 404), who
    if who != "manager_a":
        assert set(response.json()) == {"detail"}


@pytest.mark.parametrize("who", SEES + HIDDEN)
def test_overdue_counts_per_rep_follow_the_reporting_line(world, who):
    """The inspection column's partial: an overdue item of rep_a1's 1:1 is counted only for
    those who see the session; for anyone else the answer is empty, as with no overdue item."""
    ActionItem.objects.filter(pk=world["action"].pk).update(
        due_date=date.today() - timedelta(days=3)
    )
    rep = world["org"].rep_a1.id
    response = api_client(getattr(world["org"], who)).get(
        LIST_READS[7].format(rep=rep), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert (f'id="coaching-overdue-{rep}"' in body) is (who in SEES), who
    if who not in SEES:
        assert "data-coaching-overdue" not in body


@pytest.mark.parametrize("who", HIDDEN)
def test_refused_page_writes_are_404_and_write_nothing(world, who):
    client = api_client(getattr(world["org"], who))
    before = snapshot()
    for path, data in page_writes(world):
        response = client.post(path, data)
        assert response.status_code == 404, (who, path, response.status_code)
        assert snapshot() == before, (who, path)


@pytest.mark.parametrize("who", HIDDEN)
def test_refused_api_writes_are_404_and_write_nothing(world, who):
    client = api_client(getattr(world["org"], who))
    before = snapshot()
    for method, path, body in api_writes(world):
        response = call(client, method, path, body)
        assert response.status_code == 404, (who, method, path, response.status_code)
        assert snapshot() == before, (who, method, path)


def test_the_rep_cannot_prepare_or_run_their_own_session(world):
    """The rep sees the session but may not edit the agenda, run it, or set a cadence."""
    client = api_client(world["org"].rep_a1)
    before = snapshot()
    for method, path, body in api_writes(world):
        if "/status" in path or ("/items/" in path and method == "patch"):
            continue  # the rep may mark own items done and add notes (tested below)
        response = call(client, method, path, body)
        assert response.status_code in (404, 422), (method, path, response.status_code)
        assert snapshot() == before, (method, path)


def test_the_rep_may_mark_own_item_done_and_take_notes(world):
    client = api_client(world["org"].rep_a1)
    a, s, i = world["action"], world["session"], world["item"]
    r = call(client, "post", f"{API}/action-items/{a.id}/status", {"version": 1, "status": "done"})
    assert r.status_code == 200
    assert r.json()["status"] == "done"
    r = call(
        client,
        "patch",
        f"{API}/sessions/{s.id}/items/{i.id}",
        {"version": s.version, "notes": "My prep"},
    )
    assert r.status_code == 200
    assert r.json()["notes"] == "My prep"
    r = call(
        client,
        "patch",
        f"{API}/sessions/{s.id}/items/{i.id}",
        {"version": s.version + 1, "decision": "I decide"},
    )
    assert r.status_code == 422
    assert AgendaItem.objects.get(pk=i.id).decision == ""


def test_token_auth_follows_the_same_rule(world):
    from milepost.team.services import api_token_create

    for who, expected in (("leader", 200), ("admin", 404), ("rep_a2", 404)):
        secret = api_token_create(user=getattr(world["org"], who), name="t").secret
        client = Client(headers={"Authorization": f"Bearer {secret}"})
        assert client.get(f"{API}/sessions/{world['session'].id}").status_code == expected


def test_the_admin_site_does_not_expose_coaching_records(world, client):
    """Staff (sales-ops admins) cannot read sessions through Django's admin either."""
    org = world["org"]
    org.admin.is_superuser = False
    org.admin.save()
    client.force_login(org.admin)
    for model in ("coachingsession", "agendaitem", "actionitem", "coachingcadence"):
        assert client.get(f"/admin/coaching/{model}/").status_code == 404
