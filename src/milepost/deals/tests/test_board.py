"""The pipeline board (issue 12): column numbers as every role, "Show more" paging, the control
dots loaded after the cards, the gate preview of the move dialog, and query counts that do not
grow with the number of deals. Probes every URL the board added with other users' ids.

The world is built once for the module: the probe organisation with deals spread over the
stages, owners and two currencies, and one column (rep_a1's Discover) longer than a page.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from milepost.pipeline.models import Opportunity
from milepost.pipeline.presentation import CARDS_PER_COLUMN, MAX_BOARD_OFFSET, format_totals
from milepost.testing.factories import Org, ensure_default_processes, make_opportunity, make_org
from milepost.testing.probes import PLACEHOLDER, probed
from milepost.testing.worlds import shared_world

pytestmark = pytest.mark.django_db

BOARD = reverse("pipeline:board")
CONTROLS = reverse("pipeline:board_controls")
OPEN_STAGES = ["engage", "discover", "commit", "evaluate", "justify", "negotiate"]
OWNERS = ["rep_a1", "rep_a2", "rep_b1", "rep_solo", "manager_a", "manager_b"]
LONG = CARDS_PER_COLUMN + 7  # rep_a1's deals in Discover: more than one page


def column_url(stage_key: str) -> str:
    return reverse("pipeline:board_column", args=[stage_key])


def gate_url(opp_id: object) -> str:
    return reverse("pipeline:gate", args=[opp_id])


@dataclass(frozen=True)
class World:
    org: Org
    ids: dict[str, list[int]]  # deal ids by owner username
    lost_id: int  # a closed deal: never on the board


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    with shared_world(django_db_blocker):
        ensure_default_processes()
        org = make_org()
        ids: dict[str, list[int]] = defaultdict(list)
        for i in range(LONG):
            opp = make_opportunity(
                org.rep_a1,
                name=f"Long {i:02d}",
                stage_key="discover",
                amount=str(1000 + i),
                close_in_days=5 + i,
            )
            ids["rep_a1"].append(opp.pk)
        n = 0
        for owner in OWNERS:
            for stage in OPEN_STAGES[: 2 + OWNERS.index(owner) % 4]:
                n += 1
                opp = make_opportunity(
                    getattr(org, owner),
                    name=f"{owner} {stage}",
                    stage_key=stage,
                    amount=f"{n * 1111}.50",
                    close_in_days=n - 10,  # some overdue
                )
                ids[owner].append(opp.pk)
        # A second currency: totals are per currency, never summed across.
        Opportunity.objects.filter(pk__in=ids["rep_a2"][:2]).update(currency="EUR")
        lost = make_opportunity(org.rep_a1, name="Gone", stage_key="lost")
        yield World(org=org, ids=dict(ids), lost_id=lost.pk)


@pytest.fixture
def org(world: World, db) -> Org:
    return world.org


# Which owners' deals each role may see (team.selectors.visible_user_ids).
VISIBLE = {
    "admin": set(OWNERS),
    "leader": {"rep_a1", "rep_a2", "rep_b1", "manager_a", "manager_b"},
    "manager_a": {"rep_a1", "rep_a2", "manager_a"},
    "manager_b": {"rep_b1", "manager_b"},
    "rep_a1": {"rep_a1"},
    "rep_b1": {"rep_b1"},
    "rep_solo": {"rep_solo"},
}

PROBED = probed(
    ("get", column_url("discover") + "?offset=20"),
    ("get", CONTROLS + "?ids=1,2"),
    ("get", gate_url(PLACEHOLDER) + "?to_stage=commit"),
)


def card_ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'id="deal-(\d+)"', html)]


def column_numbers(html: str) -> dict[str, tuple[int, str]]:
    """(count, total) per column as the board shows them."""
    found = re.findall(
        r'<section class="board-column" [^>]*data-stage="([\w-]+)">.*?data-count="(\d+)".*?'
        r'class="col-total"[^>]*>([^<]*)<',
        html,
        re.S,
    )
    return {stage: (int(count), total) for stage, count, total in found}


# --- columns as every role ---------------------------------------------------------------------


@pytest.mark.parametrize("role", sorted(VISIBLE))
def test_column_counts_and_totals_are_the_aggregate_of_the_visible_deals(role, world, client_for):
    owners = [getattr(world.org, o).pk for o in VISIBLE[role]]
    expected_count: dict[str, int] = defaultdict(int)
    expected_total: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for opp in Opportunity.objects.filter(owner_id__in=owners).select_related("stage"):
        if opp.stage.kind != "open":
            continue
        expected_count[opp.stage.key] += 1
        totals = expected_total[opp.stage.key]
        totals[opp.currency] = totals.get(opp.currency, Decimal("0")) + opp.amount
    response = client_for(getattr(world.org, role)).get(BOARD)
    assert response.status_code == 200
    shown = column_numbers(response.content.decode())
    assert set(shown) == set(OPEN_STAGES)
    for stage in OPEN_STAGES:
        assert shown[stage] == (
            expected_count[stage],
            format_totals(expected_total[stage]),
        ), (role, stage)
    ids = set(card_ids(response.content.decode()))
    visible_ids = {pk for owner in VISIBLE[role] for pk in world.ids[owner]}
    assert ids <= visible_ids
    assert world.lost_id not in ids


def test_two_currencies_are_shown_side_by_side(world, client_for):
    html = client_for(world.org.rep_a2).get(BOARD).content.decode()
    assert "€" in html
    assert "$" in html


def test_a_column_shows_one_page_by_close_date_and_offers_the_rest(world, client_for):
    html = client_for(world.org.rep_a1).get(BOARD).content.decode()
    discover = html[html.index('data-stage="discover"') :]
    discover = discover[: discover.index("</section>")]
    in_column = list(
        Opportunity.objects.filter(owner=world.org.rep_a1, stage__key="discover")
        .order_by("close_date", "id")
        .values_list("pk", flat=True)
    )
    assert len(in_column) == LONG + 1
    assert card_ids(discover) == in_column[:CARDS_PER_COLUMN]
    more = re.search(r'hx-get="([^"]+)"', discover).group(1).replace("&amp;", "&")
    assert more.startswith(column_url("discover"))
    assert f"offset={CARDS_PER_COLUMN}" in more
    assert f"Show more ({LONG + 1 - CARDS_PER_COLUMN} not shown)" in discover


# --- "Show more" -------------------------------------------------------------------------------


def test_more_returns_the_next_page_in_order_then_nothing(world, client_for):
    client = client_for(world.org.rep_a1)
    response = client.get(column_url("discover"), {"offset": CARDS_PER_COLUMN})
    assert response.status_code == 200
    html = response.content.decode()
    rest = Opportunity.objects.filter(owner=world.org.rep_a1, stage__key="discover").order_by(
        "close_date", "id"
    )
    assert card_ids(html) == [o.pk for o in rest][CARDS_PER_COLUMN:]
    assert "column-more" not in html  # the last page offers no more
    assert "control-loader" in html  # its dots come in one request
    past = client.get(column_url("discover"), {"offset": 5000})
    assert past.status_code == 200
    assert card_ids(past.content.decode()) == []


def test_more_keeps_the_filters_and_the_scope(world, client_for):
    client = client_for(world.org.manager_a)
    html = client.get(
        column_url("discover"), {"offset": 0, "owner": world.org.rep_a2.pk}
    ).content.decode()
    assert set(card_ids(html)) == {
        pk for pk in world.ids["rep_a2"] if Opportunity.objects.get(pk=pk).stage.key == "discover"
    }
    # Another team's manager as owner: the filter is invalid for manager_a, nothing is shown.
    html = client.get(
        column_url("discover"), {"offset": 0, "owner": world.org.rep_b1.pk}
    ).content.decode()
    assert card_ids(html) == []


@pytest.mark.parametrize("offset", ["-1", "abc", "", str(MAX_BOARD_OFFSET + 1), "1e9", "9" * 30])
def test_more_with_a_bad_offset_is_422_naming_it(offset, world, client_for):
    response = client_for(world.org.rep_a1).get(column_url("discover"), {"offset": offset})
    assert response.status_code == 422
    assert response["X-Milepost-Field"] == "offset"


def test_more_without_an_offset_is_422(world, client_for):
    assert client_for(world.org.rep_a1).get(column_url("discover")).status_code == 422


@pytest.mark.parametrize("stage", ["won", "lost", "nope"])
def test_more_on_a_column_the_board_does_not_have_is_404(stage, world, client_for):
    response = client_for(world.org.rep_a1).get(column_url(stage), {"offset": 0})
    assert response.status_code == 404


@pytest.mark.parametrize("role", sorted(VISIBLE))
def test_more_probe_shows_only_the_visible_deals(role, world, client_for):
    client = client_for(getattr(world.org, role))
    seen: set[int] = set()
    for stage in OPEN_STAGES:
        for offset in range(0, LONG + CARDS_PER_COLUMN, CARDS_PER_COLUMN):
            html = client.get(column_url(stage), {"offset": offset}).content.decode()
            seen |= set(card_ids(html))
    assert seen == {pk for owner in VISIBLE[role] for pk in world.ids[owner]}


# --- control dots ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", sorted(VISIBLE))
def test_control_dots_only_for_deals_the_user_may_see(role, world, client_for):
    every = [pk for ids in world.ids.values() for pk in ids[:2]]
    response = client_for(getattr(world.org, role)).get(
        CONTROLS, {"ids": ",".join(map(str, every))}
    )
    assert response.status_code == 200
    dotted = {int(x) for x in re.findall(r'id="ctl-(\d+)"', response.content.decode())}
    assert dotted == {pk for owner in VISIBLE[role] for pk in world.ids[owner][:2]}


def test_control_dots_say_what_they_mean(world, client_for):
    # Long 00 sits in Discover with no evidence for Engage's criteria: not under control.
    first = world.ids["rep_a1"][0]
    html = client_for(world.org.rep_a1).get(CONTROLS, {"ids": str(first)}).content.decode()
    assert f'id="ctl-{first}" hx-swap-oob="true"' in html
    assert 'aria-label="Not under control: gap at Engage"' in html


@pytest.mark.parametrize("ids", ["", "1,x", "0", "-4", str(2**31), ",".join(["1"] * 201), "1;2"])
def test_control_dots_with_bad_ids_are_422(ids, world, client_for):
    response = client_for(world.org.rep_a1).get(CONTROLS, {"ids": ids})
    assert response.status_code == 422
    assert response["X-Milepost-Field"] == "ids"


# --- the gate preview of the move dialog -------------------------------------------------------


def gate(client, opp_id: int, stage: str):
    return client.get(gate_url(opp_id), {"to_stage": stage})


def test_gate_preview_lists_unmet_criteria_and_moves_nothing(world, client_for):
    opp_id = world.ids["rep_a1"][0]  # Discover, nothing verified
    response = gate(client_for(world.org.rep_a1), opp_id, "evaluate")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-gate="justification"' in html
    assert "exit criteria are not met" in html
    assert "A named buyer agreed to a discovery conversation" in html
    opp = Opportunity.objects.get(pk=opp_id)
    assert (opp.stage.key, opp.version, opp.transitions.count()) == ("discover", 1, 1)


def test_gate_preview_of_a_move_back_or_to_lost(world, client_for):
    client = client_for(world.org.rep_a1)
    opp_id = world.ids["rep_a1"][0]
    back = gate(client, opp_id, "engage").content.decode()
    assert 'data-gate="clear"' in back
    assert "move back" in back
    assert 'data-gate="lost"' in gate(client, opp_id, "lost").content.decode()


def test_gate_preview_under_a_block_policy(world, client_for, monkeypatch):
    from milepost.inspection import gates

    real = gates.gate_check

    def blocking(**kwargs):
        result = real(**kwargs)
        return gates.GateResult("block", result.forward, result.unmet, result.met)

    monkeypatch.setattr("milepost.deals.views.gate_check", blocking)
    html = gate(client_for(world.org.rep_a1), world.ids["rep_a1"][0], "commit").content.decode()
    assert 'data-gate="blocked"' in html
    assert "This process blocks the move" in html


@pytest.mark.parametrize("stage", ["", "not a slug!", "nope", "discover"])
def test_gate_preview_of_a_bad_stage_is_422(stage, world, client_for):
    response = gate(client_for(world.org.rep_a1), world.ids["rep_a1"][0], stage)
    assert response.status_code == 422
    assert "Move to stage" in response.content.decode()


@pytest.mark.parametrize("role", sorted(VISIBLE))
def test_gate_preview_is_404_for_deals_the_user_may_not_see(role, world, client_for):
    client = client_for(getattr(world.org, role))
    for owner, ids in world.ids.items():
        response = gate(client, ids[0], "won")
        assert response.status_code == (200 if owner in VISIBLE[role] else 404), (role, owner)
    assert gate(client, 999_999_999, "won").status_code == 404


def test_anonymous_is_sent_to_login(world, client):
    for url in (
        column_url("discover") + "?offset=0",
        CONTROLS + "?ids=1",
        gate_url(world.ids["rep_a1"][0]) + "?to_stage=commit",
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


# --- queries do not grow with the deals --------------------------------------------------------


def queries(client, url: str, params: dict) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, params).status_code == 200
    return len(captured)


def test_board_queries_do_not_grow_with_the_number_of_deals(world, client_for):
    """The board, a "Show more" page and the control dots cost the same number of queries
    with a few deals as with more than a page in several columns (no query per card), for
    every kind of viewer."""
    roles = ["admin", "leader", "manager_a", "rep_a1"]

    def measure(role: str) -> tuple[int, int, int]:
        client = client_for(getattr(world.org, role))
        html = client.get(BOARD).content.decode()
        ids = ",".join(map(str, card_ids(html)))
        return (
            queries(client, BOARD, {}),
            queries(client, column_url("engage"), {"offset": 0}),
            queries(client, CONTROLS, {"ids": ids}),
        )

    before = {role: measure(role) for role in roles}
    for stage in ("engage", "commit", "negotiate"):
        for i in range(CARDS_PER_COLUMN + 3):
            owner = world.org.rep_a1 if i % 2 else world.org.rep_a2
            make_opportunity(owner, stage_key=stage, name=f"More {stage} {i}", close_in_days=i)
    after = {role: measure(role) for role in roles}
    assert after == before
    # What the board costs (measured when written): session and user, visibility, the filter
    # form's people, processes and stages, then one GROUP BY for the numbers and one ranked
    # query for every column's cards.
    assert before["rep_a1"][0] <= 12
