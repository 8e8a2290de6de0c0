"""Pipeline pages as each role: who sees which deals on the board, the table and a deal's page,
who may move them (a hidden deal is a 404 and nothing is written), and the team filter.

The world (the organisation and one deal per seller, in discover) is built once for the module;
each test runs in its own savepoint and gets fresh copies of the deals.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.urls import reverse

from milepost.pipeline.models import Opportunity
from milepost.testing.factories import Org, ensure_default_processes, make_opportunity, make_org
from milepost.testing.probes import PLACEHOLDER, allowed_answers_probed, probed
from milepost.testing.worlds import shared_world

pytestmark = pytest.mark.django_db

BOARD = reverse("pipeline:board")
TABLE = reverse("pipeline:table")

# Forward moves past unmet exit criteria need a reason under the default "warn" gate.
JUST = "Buyer confirmed it on the call"
OWNERS = ["rep_a1", "rep_a2", "rep_b1", "rep_solo", "manager_a", "manager_b"]


def detail_url(opp: Opportunity) -> str:
    return reverse("pipeline:detail", args=[opp.pk])


def move_url(opp: Opportunity) -> str:
    return reverse("pipeline:move", args=[opp.pk])


@dataclass(frozen=True)
class World:
    org: Org
    deal_ids: dict[str, int]  # by owner username


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    with shared_world(django_db_blocker):
        ensure_default_processes()
        org = make_org()
        deal_ids = {
            name: make_opportunity(
                getattr(org, name), name=f"Deal of {name}", stage_key="discover"
            ).pk
            for name in OWNERS
        }
        yield World(org=org, deal_ids=deal_ids)


@pytest.fixture
def org(world: World, db) -> Org:
    """This module's ``org`` is the shared world's (the package's builds one per test)."""
    return world.org


@pytest.fixture
def deals(world: World, db) -> dict[str, Opportunity]:
    """One deal per seller, named after its owner so page content is easy to assert. Fresh
    copies for each test, which may refresh or change them."""
    return {name: Opportunity.objects.get(pk=pk) for name, pk in world.deal_ids.items()}


# Which deals each role may see (the row rule of team.selectors.visible_user_ids).
VISIBLE = {
    "admin": {"rep_a1", "rep_a2", "rep_b1", "rep_solo", "manager_a", "manager_b"},
    "leader": {"rep_a1", "rep_a2", "rep_b1", "manager_a", "manager_b"},
    "manager_a": {"rep_a1", "rep_a2", "manager_a"},
    "manager_b": {"rep_b1", "manager_b"},
    "rep_a1": {"rep_a1"},
    "rep_b1": {"rep_b1"},
    "rep_solo": {"rep_solo"},
}
ALL_DEALS = VISIBLE["admin"]


# The probes below: board and table as every role, detail and move on every other user's deal.
PROBED = probed(
    ("get", BOARD),
    ("get", TABLE),
    ("get", detail_url(PLACEHOLDER)),
    ("post", move_url(PLACEHOLDER)),
)


def names_in(html: str) -> set[str]:
    return {owner for owner in ALL_DEALS if f"Deal of {owner}<" in html}


# --- anonymous ---------------------------------------------------------------------------------


def test_anonymous_is_sent_to_login_everywhere(client, deals):
    opp = deals["rep_a1"]
    for url in (BOARD, TABLE, detail_url(opp)):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    response = client.post(
        move_url(opp), {"justification": JUST, "to_stage": "commit", "version": opp.version}
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert opp.transitions.count() == 1


# --- permission probes -------------------------------------------------------------------------


@pytest.mark.parametrize("role", sorted(VISIBLE))
def test_board_and_table_show_exactly_the_visible_deals(role, org, deals, client_for):
    client = client_for(getattr(org, role))
    for url in (BOARD, TABLE):
        response = client.get(url)
        assert response.status_code == 200
        assert names_in(response.content.decode()) == VISIBLE[role], url


@pytest.mark.parametrize("role", sorted(VISIBLE))
def test_detail_is_404_for_deals_the_user_may_not_see(role, org, deals, client_for):
    """The visible deals' pages are opened on PostgreSQL only (``allowed_answers_probed``)."""
    client = client_for(getattr(org, role))
    answered = allowed_answers_probed()
    if not answered and set(deals) <= VISIBLE[role]:
        pytest.skip("every deal is visible to this role: nothing to refuse on SQLite")
    for owner, opp in deals.items():
        if owner in VISIBLE[role] and not answered:
            continue
        response = client.get(detail_url(opp))
        expected = 200 if owner in VISIBLE[role] else 404
        assert response.status_code == expected, (role, owner)


@pytest.mark.parametrize("role", sorted(VISIBLE))
def test_move_is_404_and_writes_nothing_for_invisible_deals(role, org, deals, client_for):
    client = client_for(getattr(org, role))
    for owner, opp in deals.items():
        if owner in VISIBLE[role]:
            continue
        for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
            response = client.post(
                move_url(opp),
                {"justification": JUST, "to_stage": "commit", "version": opp.version},
                **headers,
            )
            assert response.status_code == 404, (role, owner)
        opp.refresh_from_db()
        assert opp.stage.key == "discover"
        assert opp.version == 1
        assert opp.transitions.count() == 1


def test_unknown_opportunity_id_is_404(org, deals, client_for):
    client = client_for(org.admin)
    assert client.get(reverse("pipeline:detail", args=[999999])).status_code == 404
    response = client.post(
        reverse("pipeline:move", args=[999999]),
        {"justification": JUST, "to_stage": "commit", "version": 1},
    )
    assert response.status_code == 404


def test_manager_sees_team_deal_page_and_can_move_it(org, deals, client_for):
    opp = deals["rep_a2"]
    client = client_for(org.manager_a)
    assert client.get(detail_url(opp)).status_code == 200
    response = client.post(
        move_url(opp), {"justification": JUST, "to_stage": "commit", "version": 1}
    )
    assert response.status_code == 302
    opp.refresh_from_db()
    assert opp.stage.key == "commit"


# --- team filter -------------------------------------------------------------------------------


def test_team_filter_narrows_to_the_chosen_managers_team(org, deals, client_for):
    client = client_for(org.leader)
    for url in (BOARD, TABLE):
        html = client.get(url, {"team": org.manager_b.pk}).content.decode()
        assert names_in(html) == {"rep_b1", "manager_b"}


def test_manager_cannot_use_another_managers_team(org, deals, client_for):
    client = client_for(org.manager_a)
    for url in (BOARD, TABLE):
        response = client.get(url, {"team": org.manager_b.pk})
        assert response.status_code == 200
        html = response.content.decode()
        assert names_in(html) == set()
        assert "not valid for you" in html


def test_owner_filter_cannot_reach_an_invisible_owner(org, deals, client_for):
    html = client_for(org.rep_a1).get(TABLE, {"owner": org.rep_b1.pk}).content.decode()
    assert names_in(html) == set()


def test_rep_has_no_team_filter(org, deals, client_for):
    html = client_for(org.rep_a1).get(BOARD).content.decode()
    assert 'name="team"' not in html
    assert 'name="team"' in client_for(org.manager_a).get(BOARD).content.decode()
