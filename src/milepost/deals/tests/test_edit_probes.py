"""Creating, editing, closing and archiving deals on the pages, probed as every role with other
users' deals: a deal the user may not see is a 404 and nothing is written; a manager edits and
reassigns within their team only; a rep never reassigns; only admins archive and restore.

The world (the organisation and one deal per seller) is built once for the module; each test
runs in its own savepoint.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import reverse

from milepost.pipeline.models import Opportunity
from milepost.testing.factories import Org, ensure_default_processes, make_opportunity, make_org
from milepost.testing.probes import PLACEHOLDER, probed
from milepost.testing.worlds import shared_world

pytestmark = pytest.mark.django_db

OWNERS = ["rep_a1", "rep_a2", "rep_b1", "rep_solo", "manager_a", "manager_b"]
VISIBLE = {
    "admin": set(OWNERS),
    "leader": {"rep_a1", "rep_a2", "rep_b1", "manager_a", "manager_b"},
    "manager_a": {"rep_a1", "rep_a2", "manager_a"},
    "manager_b": {"rep_b1", "manager_b"},
    "rep_a1": {"rep_a1"},
    "rep_b1": {"rep_b1"},
    "rep_solo": {"rep_solo"},
}
HX = {"HTTP_HX_REQUEST": "true"}


def url(name: str, opp: object) -> str:
    return reverse(f"pipeline:{name}", args=[opp.pk])  # type: ignore[attr-defined]


NEW = reverse("pipeline:new")
ARCHIVED = reverse("pipeline:archived")
PROBED = probed(
    ("get", NEW),
    ("post", NEW),
    ("get", url("edit", PLACEHOLDER)),
    ("post", url("edit", PLACEHOLDER)),
    ("post", url("close", PLACEHOLDER)),
    ("post", url("archive", PLACEHOLDER)),
    ("post", url("restore", PLACEHOLDER)),
    ("get", ARCHIVED),
    ("post", f"/api/v1/opportunities/{PLACEHOLDER.pk}/archive"),
    ("post", f"/api/v1/opportunities/{PLACEHOLDER.pk}/restore"),
)


def api_url(name: str, opp: object) -> str:
    return f"/api/v1/opportunities/{opp.pk}/{name}"  # type: ignore[attr-defined]


@dataclass(frozen=True)
class World:
    org: Org
    deal_ids: dict[str, int]


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    with shared_world(django_db_blocker):
        ensure_default_processes()
        org = make_org()
        deal_ids = {
            name: make_opportunity(getattr(org, name), name=f"Deal of {name}").pk for name in OWNERS
        }
        yield World(org=org, deal_ids=deal_ids)


@pytest.fixture
def org(world: World, db) -> Org:
    return world.org


@pytest.fixture
def deals(world: World, db) -> dict[str, Opportunity]:
    return {name: Opportunity.objects.get(pk=pk) for name, pk in world.deal_ids.items()}


def _unchanged(opp: Opportunity) -> None:
    fresh = Opportunity.objects.get(pk=opp.pk)
    assert (fresh.version, fresh.amount, fresh.stage_id, fresh.archived_at) == (
        opp.version,
        opp.amount,
        opp.stage_id,
        opp.archived_at,
    )


@pytest.mark.parametrize("role", sorted(VISIBLE))
def test_edit_and_close_are_404_for_hidden_deals_and_200_for_visible(role, org, deals, client_for):
    client = client_for(getattr(org, role))
    for owner, opp in deals.items():
        visible = owner in VISIBLE[role]
        response = client.get(url("edit", opp), {"field": "amount"}, **HX)
        assert response.status_code == (200 if visible else 404), (role, owner)
        if visible:
            assert 'name="amount"' in response.content.decode()
            continue
        for headers in ({}, HX):
            post = {"group": "amount", "amount": "5", "currency": "USD", "version": 1}
            assert client.post(url("edit", opp), post, **headers).status_code == 404
            close = {"outcome": "lost", "lost_reason": "Budget", "version": 1}
            assert client.post(url("close", opp), close, **headers).status_code == 404
        _unchanged(opp)


@pytest.mark.parametrize("role", sorted(VISIBLE))
def test_visible_deal_edit_saves_for_every_role_that_sees_it(role, org, deals, client_for):
    client = client_for(getattr(org, role))
    owner = sorted(VISIBLE[role])[0]
    opp = deals[owner]
    post = {"group": "amount", "amount": "12345.60", "currency": "eur", "version": opp.version}
    response = client.post(url("edit", opp), post, **HX)
    assert response.status_code == 200
    opp.refresh_from_db()
    assert (str(opp.amount), opp.currency, opp.version) == ("12345.60", "EUR", 2)


def test_manager_reassigns_within_the_team_only(org, deals, client_for):
    client = client_for(org.manager_a)
    opp = deals["rep_a1"]
    outside = {"group": "owner", "owner": org.rep_b1.pk, "version": opp.version}
    response = client.post(url("edit", opp), outside, **HX)
    assert response.status_code == 422  # rep_b1 is not a choice for manager_a
    _unchanged(opp)
    inside = {"group": "owner", "owner": org.rep_a2.pk, "version": opp.version}
    assert client.post(url("edit", opp), inside, **HX).status_code == 200
    opp.refresh_from_db()
    assert opp.owner_id == org.rep_a2.pk


def test_rep_cannot_reassign_even_to_themselves(org, deals, client_for):
    opp = deals["rep_a1"]
    client = client_for(org.rep_a1)
    post = {"group": "owner", "owner": org.rep_a1.pk, "version": opp.version}
    assert client.post(url("edit", opp), post, **HX).status_code == 403
    assert client.get(url("edit", opp), {"field": "owner"}, **HX).status_code == 404
    assert "Reassign" not in client.get(url("detail", opp)).content.decode()
    _unchanged(opp)


@pytest.mark.parametrize("role", sorted(VISIBLE))
def test_new_deal_page_and_owner_choice_follow_the_team(role, org, deals, client_for):
    user = getattr(org, role)
    client = client_for(user)
    assert client.get(NEW).status_code == 200
    post = {
        "name": f"New of {role}",
        "amount": "100",
        "currency": "USD",
        "close_date": "2031-01-01",
        "stage": "new_business:engage",
        "owner": org.rep_b1.pk,
    }
    response = client.post(NEW, post)
    created = Opportunity.objects.filter(name=f"New of {role}").first()
    if role in ("rep_a1", "rep_b1", "rep_solo"):
        # A rep has no owner field: the posted owner is ignored and the deal is theirs.
        assert response.status_code == 302
        assert created is not None
        assert created.owner_id == user.pk
    elif "rep_b1" in VISIBLE[role]:
        assert response.status_code == 302
        assert created is not None
        assert created.owner_id == org.rep_b1.pk
    else:
        assert response.status_code == 422
        assert 'id="id_owner_error"' in response.content.decode()
        assert created is None


@pytest.mark.parametrize("role", sorted(set(VISIBLE) - {"admin"}))
def test_only_admins_archive_restore_and_list_archived(role, org, deals, client_for):
    client = client_for(getattr(org, role))
    assert client.get(ARCHIVED).status_code == 403
    for opp in deals.values():
        for name in ("archive", "restore"):
            assert client.post(url(name, opp), {"version": opp.version}).status_code == 403
        _unchanged(opp)


def test_admin_archives_and_restores_keeping_history(org, deals, client_for):
    client = client_for(org.admin)
    opp = deals["rep_b1"]
    assert client.post(url("archive", opp), {"version": opp.version}).status_code == 302
    opp.refresh_from_db()
    assert opp.archived_at is not None
    assert opp.archived_by_id == org.admin.pk
    assert opp.updated_by_id == org.admin.pk
    assert opp.transitions.count() == 1
    html = client.get(ARCHIVED).content.decode()
    assert "Deal of rep_b1" in html
    # Hidden from the board, the table, the deal page and the API for everyone.
    for user in (org.admin, org.manager_b, org.rep_b1):
        c = client_for(user)
        assert "Deal of rep_b1<" not in c.get(reverse("pipeline:table")).content.decode()
        page = c.get(url("detail", opp))
        if user == org.admin:  # the admin may still read it, and only read it
            assert page.status_code == 200
            html = page.content.decode()
            assert "read-only" in html
            assert reverse("pipeline:restore", args=[opp.pk]) in html
            assert reverse("pipeline:edit", args=[opp.pk]) not in html
        else:
            assert page.status_code == 404
        assert c.get(f"/api/v1/opportunities/{opp.pk}").status_code == 404
        assert c.get(f"/api/v1/inspection/deals/{opp.pk}").status_code == 404
        listed = c.get("/api/v1/inspection/deals").json()["items"]
        assert opp.pk not in {d["opportunity_id"] for d in listed}
    client = client_for(org.admin)
    assert client.post(url("restore", opp), {"version": opp.version}).status_code == 302
    opp.refresh_from_db()
    assert opp.archived_at is None
    assert client_for(org.rep_b1).get(url("detail", opp)).status_code == 200


def test_unknown_ids_are_404(org, deals, client_for):
    client = client_for(org.admin)
    missing = Opportunity(pk=999_999)
    assert client.get(url("edit", missing), {"field": "amount"}, **HX).status_code == 404
    assert client.post(url("close", missing), {"outcome": "won", "version": 1}).status_code == 404
    assert client.post(url("archive", missing), {"version": 1}).status_code == 404


def test_csrf_is_enforced_on_every_write(org, deals):
    client = Client(enforce_csrf_checks=True)
    client.force_login(org.admin)
    opp = deals["rep_a1"]
    posts = [
        (NEW, {"name": "x"}),
        (url("edit", opp), {"group": "amount", "amount": "1", "version": 1}),
        (url("close", opp), {"outcome": "won", "version": 1}),
        (url("archive", opp), {"version": 1}),
        (url("restore", opp), {"version": 1}),
    ]
    for path, data in posts:
        assert client.post(path, data).status_code == 403, path
    _unchanged(opp)


def test_anonymous_is_sent_to_login(client, deals):
    opp = deals["rep_a1"]
    for path in (NEW, ARCHIVED, url("edit", opp)):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    assert client.post(url("close", opp), {"outcome": "won", "version": 1}).status_code == 302
    _unchanged(opp)


@pytest.mark.parametrize("role", sorted(set(VISIBLE) - {"admin"}))
def test_only_admins_archive_and_restore_through_the_api(role, org, deals, client_for):
    client = client_for(getattr(org, role))
    for opp in deals.values():
        for name in ("archive", "restore"):
            body = {"version": opp.version}
            response = client.post(api_url(name, opp), body, content_type="application/json")
            assert response.status_code == 403
        _unchanged(opp)


def test_admin_archives_and_restores_through_the_api(org, deals, client_for):
    client = client_for(org.admin)
    opp = deals["rep_a2"]

    def post(name: str, body: dict) -> object:
        return client.post(api_url(name, opp), body, content_type="application/json")

    missing = post("archive", {})
    assert missing.status_code == 422
    assert "version" in missing.content.decode()
    stale = post("archive", {"version": opp.version + 3})
    assert stale.status_code == 409
    assert stale.json()["current_version"] == opp.version
    _unchanged(opp)
    done = post("archive", {"version": opp.version})
    assert done.status_code == 200
    assert (done.json()["version"], done.json()["archived_by_id"]) == (2, org.admin.pk)
    assert client.get(f"/api/v1/opportunities/{opp.pk}").status_code == 404
    assert post("restore", {"version": 1}).status_code == 409
    restored = post("restore", {"version": 2})
    assert restored.status_code == 200
    assert restored.json()["archived_at"] is None
    assert client.get(f"/api/v1/opportunities/{opp.pk}").status_code == 200
    assert (
        client.post(
            api_url("archive", Opportunity(pk=999_999)),
            {"version": 1},
            content_type="application/json",
        ).status_code
        == 404
    )
