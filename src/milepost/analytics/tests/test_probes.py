"""Analytics pages and endpoints as each role: every figure counts exactly the deals the
viewer may see (a rep their own, a manager their team, a leader their line, an admin all), the
deals behind a figure are those deals, a team outside the viewer's line gives nothing, and
anonymous callers get nothing.

World (built once for the module): one deal per seller, created in *engage* ten days ago and
moved to *discover* five days ago, named after its owner.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from milepost.testing.clients import api_client
from milepost.testing.factories import Org, ensure_default_processes, make_opportunity, make_org
from milepost.testing.moves import move_as_read
from milepost.testing.probes import probed
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
PAGES = [
    reverse("analytics:conversion"),
    reverse("analytics:velocity"),
    reverse("analytics:waterfall"),
]
DEALS = reverse("analytics:deals") + "?figure=cohort&part=entered&stage=engage"
API = ["/api/v1/analytics/conversion", "/api/v1/analytics/velocity", "/api/v1/analytics/waterfall"]

PROBED = probed(
    ("get", reverse("analytics:index")),
    *(("get", page) for page in PAGES),
    ("get", DEALS),
    *(("get", path) for path in API),
)


@dataclass(frozen=True)
class World:
    org: Org
    deal_ids: dict[str, int]


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    with shared_world(django_db_blocker):
        ensure_default_processes()
        org = make_org()
        now = timezone.now()
        ids = {}
        for name in OWNERS:
            opp = make_opportunity(
                getattr(org, name), name=f"Deal of {name}", at=now - timedelta(days=10)
            )
            move_as_read(
                user=org.admin,
                opportunity_id=opp.pk,
                to_stage_key="discover",
                at=now - timedelta(days=5),
                justification="Buyer confirmed it on the call",
            )
            ids[name] = opp.pk
        yield World(org, ids)


def names_in(html: str) -> set[str]:
    return {owner for owner in OWNERS if f"Deal of {owner}<" in html}


@pytest.mark.parametrize("role", sorted(VISIBLE))
@pytest.mark.parametrize("auth", ["session", "token"])
def test_api_counts_exactly_the_visible_deals(world, role, auth):
    client = api_client(getattr(world.org, role), auth)
    n = len(VISIBLE[role])
    conversion = client.get(API[0])
    assert conversion.status_code == 200, conversion.content
    body = conversion.json()
    engage = body["cohorts"][0]
    assert (engage["stage"], engage["entered"], engage["advanced"], engage["open"]) == (
        "engage",
        n,
        n,
        n,
    )
    assert body["funnel"][0]["deals"] == n
    assert body["cohorts"][0]["win_rate"]["too_few"] is True
    velocity = client.get(API[1]).json()
    assert velocity["velocity"]["open_deals"] == n
    assert velocity["time_in_stage"][0]["n"] == n
    waterfall = client.get(API[2], {"scope_to": "2100-01-01"})
    assert waterfall.status_code == 200
    bars = {b["key"]: b for b in waterfall.json()["bars"]}
    assert bars["created"]["count"] == bars["closing"]["count"] == n
    assert waterfall.json()["reconciles"] is True


@pytest.mark.parametrize("role", sorted(VISIBLE))
def test_pages_and_the_deals_behind_a_figure(world, role, client_for):
    client = client_for(getattr(world.org, role))
    for page in PAGES:
        response = client.get(page)
        assert response.status_code == 200, page
        assert b"Conversion" in response.content
    index = client.get(reverse("analytics:index"))
    assert index.status_code == 302
    assert index["Location"] == PAGES[0]
    deals = client.get(DEALS)
    assert deals.status_code == 200
    assert names_in(deals.content.decode()) == VISIBLE[role]


@pytest.mark.parametrize("role", sorted(VISIBLE))
def test_a_team_outside_the_viewers_line_gives_nothing(world, role, client_for):
    """Every manager as a team filter: only a visible one counts, and then only its team."""
    user = getattr(world.org, role)
    client = api_client(user)
    for manager in ("manager_a", "manager_b"):
        team = getattr(world.org, manager).pk
        body = client.get(API[0], {"team": team}).json()
        line = (
            VISIBLE[manager] if manager in VISIBLE[role] or role in ("admin", "leader") else set()
        )
        assert body["funnel"][0]["deals"] == len(line & VISIBLE[role]), manager
        page = client_for(user).get(DEALS + f"&team={team}")
        if manager in VISIBLE[role]:
            assert names_in(page.content.decode()) == VISIBLE[manager] & VISIBLE[role]
        else:
            # Not one of the viewer's choices: refused, and no deal listed.
            assert page.status_code == 422
            assert names_in(page.content.decode()) == set()


def test_anonymous_gets_nothing(world, client):
    for page in [*PAGES, DEALS, reverse("analytics:index")]:
        response = client.get(page)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    for path in API:
        assert client.get(path).status_code == 401


def test_bad_filters_are_refused_alike(world, client_for):
    client = api_client(world.org.admin)
    response = client.get(API[0], {"date_from": "2026-05-01", "date_to": "2026-01-01"})
    assert response.status_code == 422
    assert response.json()["field"] == "date_to"
    page = client_for(world.org.admin).get(
        PAGES[0], {"date_from": "2026-05-01", "date_to": "2026-01-01"}
    )
    assert page.status_code == 422
    assert "the period ends before it starts" in page.content.decode()
    assert client.get(API[0], {"amout_min": "5"}).status_code in (200, 422)
