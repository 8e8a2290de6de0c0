"""The inspection page: what a manager sees by default, how each filter narrows the list, the
signal x rep matrix, the inline explanation, and who may see what."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from milepost.inspection.pipeline import inspect_pipeline
from milepost.pipeline.models import Opportunity
from milepost.pipeline.presentation import period_range, today
from milepost.pipeline.services import opportunity_update
from milepost.testing.factories import Org, make_opportunity
from milepost.testing.probes import probed

pytestmark = pytest.mark.django_db

URL = "/inspection/"
# The "who sees what" tests: the list and a deal's explanation as a rep, a manager, an admin.
PROBED = probed(("get", URL), ("get", "/inspection/deals/1/"))


@dataclass
class World:
    """Deals of two teams, each built to match or miss a filter:

    * ``big_a1``   rep_a1, commit, 50 000, close date past -> not under control, close_date_past
    * ``mid_a2``   rep_a2, discover, 20 000, closes in 40 days -> not under control
    * ``calm_a2``  rep_a2, engage, next step set -> under control, no signal at all
    * ``noisy_a1`` rep_a1, engage, no next step -> under control, flagged (no_next_step)
    * ``other_b1`` rep_b1 (manager_b's team), commit -> not under control
    """

    org: Org
    big_a1: Opportunity
    mid_a2: Opportunity
    calm_a2: Opportunity
    noisy_a1: Opportunity
    other_b1: Opportunity


def build_world(org: Org) -> World:
    big = make_opportunity(
        org.rep_a1, name="Big A1", stage_key="commit", amount="50000", close_in_days=-5
    )
    mid = make_opportunity(
        org.rep_a2, name="Mid A2", stage_key="discover", amount="20000", close_in_days=40
    )
    calm = make_opportunity(
        org.rep_a2, name="Calm A2", stage_key="engage", amount="3000", close_in_days=20
    )
    opportunity_update(
        user=org.admin,
        opportunity_id=calm.pk,
        expected_version=1,
        changes={"next_step": "Discovery call", "next_step_date": today() + timedelta(days=3)},
    )
    noisy = make_opportunity(
        org.rep_a1, name="Noisy A1", stage_key="engage", amount="4000", close_in_days=25
    )
    other = make_opportunity(
        org.rep_b1, name="Other B1", stage_key="commit", amount="90000", close_in_days=10
    )
    return World(org, big, mid, calm, noisy, other)


@pytest.fixture
def world(org: Org, processes: None) -> World:
    return build_world(org)


def listed(response) -> list[int]:
    """Deal ids in the order the page lists them."""
    assert response.status_code == 200
    return [int(i) for i in re.findall(r'id="deal-row-(\d+)"', response.content.decode())]


def test_default_lists_only_deals_not_under_control_ranked_by_amount_times_risk(
    world: World, client_for
):
    response = client_for(world.org.manager_a).get(URL)
    ids = listed(response)
    assert ids == [world.big_a1.pk, world.mid_a2.pk]
    # The order is the service's priority (amount x risk), highest first.
    deals = inspect_pipeline(user=world.org.manager_a).deals
    priority = dict(zip(deals["opportunity_id"], deals["priority"], strict=True))
    assert priority[ids[0]] > priority[ids[1]] > 0
    html = response.content.decode()
    assert "2 deals not under control" in html
    assert 'data-signal="close_date_past"' in html  # the signal chips
    assert "Commit to change →" in html  # claimed -> verified


def test_order_follows_priority_not_amount(world: World, client_for):
    """A smaller deal with a much higher risk ranks above a larger, calmer one."""
    # Given a large deal whose only gap is its first stage's criterion (low risk) ...
    large = make_opportunity(
        world.org.rep_a2, name="Large calm", stage_key="discover", amount="60000"
    )
    opportunity_update(
        user=world.org.admin,
        opportunity_id=large.pk,
        expected_version=1,
        changes={"next_step": "Recap", "next_step_date": today() + timedelta(days=2)},
    )
    deals = inspect_pipeline(user=world.org.manager_a).deals
    expected = (
        deals.filter(~deals["under_control"])
        .sort(["priority", "opportunity_id"], descending=[True, False])["opportunity_id"]
        .to_list()
    )
    ids = listed(client_for(world.org.manager_a).get(URL))
    assert ids == expected
    amounts = {o.pk: o.amount for o in Opportunity.objects.filter(pk__in=ids)}
    assert sorted(ids, key=lambda i: -amounts[i]) != ids  # ranked by priority, not amount


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("control=all", ["big_a1", "mid_a2", "calm_a2", "noisy_a1"]),
        ("control=yes", ["calm_a2", "noisy_a1"]),
        ("control=no", ["big_a1", "mid_a2"]),
        ("control=all&flagged=on", ["big_a1", "mid_a2", "noisy_a1"]),
        ("rep={rep_a2}", ["mid_a2"]),
        ("rep={rep_a2}&control=all", ["mid_a2", "calm_a2"]),
        ("stage=discover", ["mid_a2"]),
        ("stage=engage&control=all", ["calm_a2", "noisy_a1"]),
        ("signal=close_date_past", ["big_a1"]),
        ("signal=no_next_step&control=yes", ["noisy_a1"]),
        ("period=overdue", ["big_a1"]),
        ("close_from={in30}&close_to={in50}", ["mid_a2"]),
        ("close_from={in30}&control=all", ["mid_a2"]),
        ("close_to={in22}&control=all", ["big_a1", "calm_a2"]),
    ],
)
def test_each_filter_narrows_the_list(world: World, client_for, query: str, expected: list):
    d = today()
    query = query.format(
        rep_a2=world.org.rep_a2.pk,
        in22=d + timedelta(days=22),
        in30=d + timedelta(days=30),
        in50=d + timedelta(days=50),
    )
    ids = listed(client_for(world.org.manager_a).get(f"{URL}?{query}"))
    assert set(ids) == {getattr(world, name).pk for name in expected}
    assert len(ids) == len(expected)


@pytest.mark.parametrize("period", ["this_month", "this_quarter", "next_quarter"])
def test_named_close_periods(org: Org, processes: None, client_for, period: str):
    start, end = period_range(period)
    inside = make_opportunity(
        org.rep_a1, stage_key="commit", close_in_days=(end - date.today()).days
    )
    before = make_opportunity(
        org.rep_a1, stage_key="commit", close_in_days=(start - date.today()).days - 1
    )
    after = make_opportunity(
        org.rep_a1, stage_key="commit", close_in_days=(end - date.today()).days + 1
    )
    ids = listed(client_for(org.manager_a).get(f"{URL}?period={period}&control=all"))
    assert inside.pk in ids
    assert before.pk not in ids
    assert after.pk not in ids


def test_signal_rep_matrix_counts_equal_the_service(world: World, client_for):
    response = client_for(world.org.manager_a).get(f"{URL}?control=all")
    result = inspect_pipeline(user=world.org.manager_a)
    owner = dict(zip(result.deals["opportunity_id"], result.deals["owner_id"], strict=True))
    expected: dict[tuple[str, str], int] = {}
    for row in result.signals.to_dicts():
        rep = next(
            str(u)
            for u in (world.org.rep_a1, world.org.rep_a2)
            if u.pk == owner[row["opportunity_id"]]
        )
        expected[(rep, row["signal"])] = expected.get((rep, row["signal"]), 0) + 1
    shown = {
        (r["rep"], c["key"]): c["count"]
        for r in response.context["matrix"]
        for c in r["cells"]
        if c["count"]
    }
    assert shown == expected
    assert shown[(str(world.org.rep_a1), "close_date_past")] == 1
    per_rep = {r["rep"]: (r["deals"], r["under_control"]) for r in response.context["matrix"]}
    assert per_rep == {str(world.org.rep_a1): (2, 1), str(world.org.rep_a2): (2, 1)}


def test_a_matrix_cell_lists_exactly_its_deals(world: World, client_for):
    client = client_for(world.org.manager_a)
    response = client.get(f"{URL}?control=all")
    for row in response.context["matrix"]:
        for cell in row["cells"]:
            if cell["count"]:
                ids = listed(client.get(f"{URL}?{cell['query']}"))
                assert len(ids) == cell["count"], (row["rep"], cell["key"])


def test_htmx_filter_returns_the_results_partial(world: World, client_for):
    client = client_for(world.org.manager_a)
    partial = client.get(f"{URL}?stage=discover", HTTP_HX_REQUEST="true")
    assert listed(partial) == [world.mid_a2.pk]
    html = partial.content.decode()
    assert "<html" not in html
    assert 'id="inspection-filters"' not in html
    body = client.get(
        f"{URL}?stage=discover", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="inspection-body"
    )
    assert 'id="inspection-filters"' in body.content.decode()
    assert "<html" not in body.content.decode()


def test_pages_of_fifty(org: Org, processes: None, client_for):
    for i in range(52):
        make_opportunity(org.rep_a1, stage_key="discover", amount=str(1000 + i))
    client = client_for(org.manager_a)
    first, second = listed(client.get(URL)), listed(client.get(f"{URL}?page=2"))
    assert (len(first), len(second)) == (50, 2)
    assert not set(first) & set(second)


def test_query_count_does_not_grow_with_the_deals(org: Org, processes: None, client_for):
    client = client_for(org.manager_a)
    make_opportunity(org.rep_a1, stage_key="commit")
    with CaptureQueriesContext(connection) as few:
        client.get(URL)
    for i in range(30):
        make_opportunity([org.rep_a1, org.rep_a2][i % 2], stage_key="commit")
    with CaptureQueriesContext(connection) as many:
        client.get(URL)
    assert len(many) == len(few)


def test_explanation_fragment_has_signals_unmet_criteria_and_actions(world: World, client_for):
    response = client_for(world.org.manager_a).get(
        f"/inspection/deals/{world.big_a1.pk}/", HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert "Close date past" in html
    assert "5 days past" in html
    assert "likely to slip or be lost: exit criteria unmet, close date past" in html
    assert "(20 points in the process file)" in html
    assert "Unmet exit criteria" in html
    assert "no call or meeting logged yet" in html
    assert "Next actions" in html
    assert f'href="/pipeline/opportunities/{world.big_a1.pk}/"' in html
    full = client_for(world.org.manager_a).get(f"/inspection/deals/{world.big_a1.pk}/")
    assert "<html" in full.content.decode()
    assert "Big A1" in full.content.decode()


# --- who sees what ---------------------------------------------------------------------------


def test_a_rep_sees_only_own_deals(world: World, client_for):
    client = client_for(world.org.rep_a1)
    assert set(listed(client.get(f"{URL}?control=all"))) == {
        world.big_a1.pk,
        world.noisy_a1.pk,
    }
    for other in (world.mid_a2, world.other_b1):
        assert client.get(f"/inspection/deals/{other.pk}/").status_code == 404


def test_manager_sees_the_team_but_never_another_teams_deal(world: World, client_for):
    client = client_for(world.org.manager_a)
    all_ids = set(listed(client.get(f"{URL}?control=all")))
    assert all_ids == {world.big_a1.pk, world.mid_a2.pk, world.calm_a2.pk, world.noisy_a1.pk}
    # Asking for rep_b1's deals explicitly is refused, not widened.
    response = client.get(f"{URL}?rep={world.org.rep_b1.pk}&control=all")
    assert listed(response) == []
    assert response.context["filters_invalid"]
    assert "Other B1" not in response.content.decode()
    assert str(world.org.rep_b1) not in response.content.decode()
    assert client.get(f"/inspection/deals/{world.other_b1.pk}/").status_code == 404
    assert (
        client.get(f"/inspection/deals/{world.other_b1.pk}/", HTTP_HX_REQUEST="true").status_code
        == 404
    )


def test_admin_sees_every_team(world: World, client_for):
    ids = set(listed(client_for(world.org.admin).get(f"{URL}?control=all")))
    assert world.other_b1.pk in ids
    assert world.big_a1.pk in ids
    assert len(ids) == 5
    response = client_for(world.org.admin).get(f"{URL}?rep={world.org.rep_b1.pk}")
    assert listed(response) == [world.other_b1.pk]


def test_sign_in_required(world: World, client):
    assert client.get(URL).status_code == 302
    assert client.get(f"/inspection/deals/{world.big_a1.pk}/").status_code == 302
