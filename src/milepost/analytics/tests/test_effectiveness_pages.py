"""The process-effectiveness page, API, CLI and exports, and the designer's "open a draft from
this" action: figures worked out by hand, every role, and the draft holding exactly the change.

World (built once for the module): ``effectiveness_world`` (five deals, see its docstring) and
30 more deals of rep_solo that spent 50 days in *engage* (ungated) and sit in *discover* since.
Engage's completed visits are then 2, 3, 4, 5, 10, 40 and 30 x 50 days: p80 (position 28 of
0..35) is 50 ≥ 1.5 x max_days 30, over 36 visits, 31 of them over 30 days: the one suggestion,
max_days 30 → 50. Criterion exits: 22 of the five deals (9 unrecorded, see the selector test)
and 2 per stalled deal (engage's two rule criteria, ungated: unrecorded): 82, 69 unrecorded.
"""

from __future__ import annotations

import copy
import io
import re
from collections.abc import Iterator

import pytest
from django.core.management import call_command
from django.urls import reverse

from milepost.analytics import effectiveness_text
from milepost.analytics.tests.effectiveness_world import EffWorld, build
from milepost.engine.process_effectiveness import MESSAGES, VERDICT_MESSAGES
from milepost.pipeline.models import Opportunity, StageTransition
from milepost.process.models import ProcessDraft, Stage
from milepost.process.selectors import current_version
from milepost.testing.clients import api_client
from milepost.testing.factories import make_opportunity
from milepost.testing.probes import probed
from milepost.testing.worlds import shared_world

pytestmark = pytest.mark.django_db

PAGE = reverse("analytics:effectiveness")
API = "/api/v1/analytics/effectiveness"
DRAFT = reverse("process:draft_from_suggestion")
ROLES = ["admin", "leader", "manager_a", "manager_b", "rep_a1", "rep_b1", "rep_solo"]
CHANGE = {
    "action": "set_stage_field",
    "stage": "engage",
    "field": "max_days",
    "from": 30,
    "to": 50,
}

PROBED = probed(("get", PAGE), ("get", API), ("post", DRAFT))


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[EffWorld]:
    def build_more() -> EffWorld:
        w = build()
        version = current_version(process_key="new_business")
        discover = Stage.objects.get(version=version, key="discover")
        engage = Stage.objects.get(version=version, key="engage")
        for n in range(30):
            opp = make_opportunity(w.org.rep_solo, name=f"Stalled {n}", amount="100", at=w.t0)
            StageTransition.objects.create(
                opportunity=opp,
                from_stage=engage,
                to_stage=discover,
                moved_at=w.at(50),
                amount=opp.amount,
                currency="USD",
                close_date=opp.close_date,
                source="import",
            )
            Opportunity.objects.filter(pk=opp.pk).update(stage=discover)
        return w

    yield from shared_world(django_db_blocker, build_more)


def test_the_texts_are_the_engines_templates_marked_for_translation():
    def params(text: str) -> set[str]:
        return set(re.findall(r"%\((\w+)\)s", text))

    for ours, theirs in (
        (effectiveness_text.MESSAGES, MESSAGES),
        (effectiveness_text.VERDICT_MESSAGES, VERDICT_MESSAGES),
    ):
        assert set(ours) == set(theirs)
        for key, template in theirs.items():
            assert str(ours[key]) == template, key
            assert params(str(ours[key])) == params(template)


@pytest.mark.parametrize("auth", ["session", "token"])
def test_api_figures_by_hand(world, auth):
    body = api_client(world.org.admin, auth).get(API)
    assert body.status_code == 200, body.content
    data = body.json()
    assert (data["scope"]["exits"], data["scope"]["unrecorded"], data["scope"]["version"]) == (
        82,
        69,
        1,
    )
    assert [s["change"] for s in data["suggestions"]] == [CHANGE]
    text = data["suggestions"][0]["text"]
    assert "p80 50.0 days, median 50.0, over 36 visits; 31 of them (86%)" in text
    crit = {c["criterion"]: c for c in data["criteria"]}
    fit = crit["fit_with_ideal_customer"]
    # The stalled deals are open: their exits are open exits, in no rate.
    assert (fit["exits"], fit["met"], fit["not_met"], fit["unrecorded"], fit["waived"]) == (
        4,
        2,
        1,
        1,
        1,
    )
    assert fit["open_exits"] == 31
    assert fit["verdict_text"] == (
        "Too few deals to tell: 2 on one side and 1 on the other, at least 10 each are needed."
    )
    recap = crit["discovery_recap_accepted"]
    assert (recap["met"], recap["not_met"], recap["met_late"]) == (1, 1, 1)
    stages = {s["stage"]: s for s in data["stages"]}
    assert stages["discover"]["lost_reasons"] == [["price", 1]]
    assert (stages["discover"]["open_now"], stages["discover"]["open_over_max"]) == (31, 31)
    assert stages["commit"]["skippers"] == 1


@pytest.mark.parametrize(
    ("role", "deals", "exits"),
    [
        ("rep_a1", 1, 5),
        ("rep_b1", 1, 5),
        ("manager_a", 3, 5 + 2 + 8),
        ("manager_b", 1, 5),
        ("leader", 4, 5 + 2 + 5 + 8),
        ("rep_solo", 31, 2 + 60),
    ],
)
def test_api_is_scoped_like_every_analytics_page(world, role, deals, exits):
    data = api_client(getattr(world.org, role)).get(API).json()
    engage = next(s for s in data["stages"] if s["stage"] == "engage")
    assert engage["visitors"] == deals
    assert data["scope"]["exits"] == exits


def test_page_as_admin_shows_suggestion_button_and_unrecorded(world, client_for):
    response = client_for(world.org.admin).get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert "69 criterion exits of 82 have no recorded criteria result" in html
    assert "p80 50.0 days, median 50.0, over 36 visits; 31 of them (86%)" in html
    assert "Set max_days of Engage from 30 to 50" in html
    assert "Open a draft from this" in html
    assert f'action="{DRAFT}"' in html
    assert "style=" not in html
    assert "<script>" not in html


@pytest.mark.parametrize("role", [r for r in ROLES if r != "admin"])
def test_page_for_other_roles_has_no_draft_button(world, client_for, role):
    response = client_for(getattr(world.org, role)).get(PAGE)
    assert response.status_code == 200
    assert "Open a draft from this" not in response.content.decode()


def test_anonymous_gets_nothing(world, client):
    page = client.get(PAGE)
    assert page.status_code == 302
    assert page["Location"].startswith(reverse("login"))
    assert client.get(API).status_code == 401
    draft = client.post(DRAFT, {"process": "new_business", **CHANGE})
    assert draft.status_code == 302
    assert draft["Location"].startswith(reverse("login"))
    assert not ProcessDraft.objects.exists()


def test_exports_and_cli(world, client_for):
    client = client_for(world.org.admin)
    csv = client.get(PAGE, {"format": "csv", "table": "stages"})
    assert csv.status_code == 200
    lines = b"".join(csv.streaming_content).decode().splitlines()
    assert lines[0].startswith("Stage,Visitors,Closed,Won,Lost here")
    assert lines[1].startswith("Engage,35,4,2,0,")
    xlsx = client.get(PAGE, {"format": "xlsx"})
    assert xlsx.status_code == 200
    assert xlsx.content[:2] == b"PK"
    out = io.StringIO()
    call_command("analytics", "effectiveness", "--csv", "-", "--table", "suggestions", stdout=out)
    assert "Set max_days of Engage from 30 to 50" in out.getvalue()
    out = io.StringIO()
    call_command("analytics", "effectiveness", "--as", "rep_a1", stdout=out)
    assert "0 of 5 criterion exits have no recorded criteria result" in out.getvalue()


@pytest.mark.parametrize("role", [r for r in ROLES if r != "admin"])
def test_the_draft_action_refuses_non_admins(world, client_for, role):
    response = client_for(getattr(world.org, role)).post(
        DRAFT, {"process": "new_business", **CHANGE}
    )
    assert response.status_code == 403
    assert not ProcessDraft.objects.exists()


def test_the_draft_action_opens_a_draft_with_exactly_the_change(world, client_for):
    live = current_version(process_key="new_business")
    assert live is not None
    response = client_for(world.org.admin).post(DRAFT, {"process": "new_business", **CHANGE})
    draft = ProcessDraft.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("process:draft", args=[draft.pk])
    expected = copy.deepcopy(live.definition)
    engage = next(s for s in expected["stages"] if s["key"] == "engage")
    assert engage["max_days"] == 30
    engage["max_days"] = 50
    assert draft.document == expected
    assert draft.based_on_id == live.pk
    assert draft.published_as_id is None
    assert current_version(process_key="new_business") == live  # nothing published


@pytest.mark.parametrize(
    "change",
    [
        {**CHANGE, "from": 45},  # computed against another max_days: no longer applies
        {"action": "remove_criterion", "stage": "engage", "criterion": "no_such"},
        {"action": "set_process_field", "field": "name", "from": "x", "to": "y"},
        {"action": "drop_everything"},
    ],
)
def test_a_change_that_does_not_fit_opens_no_draft(world, client_for, change):
    response = client_for(world.org.admin).post(DRAFT, {"process": "new_business", **change})
    assert response.status_code == 302
    assert response["Location"].startswith(PAGE)
    assert not ProcessDraft.objects.exists()


def test_remove_move_and_gate_policy_changes(world):
    from milepost.designer.services import draft_from_change

    admin = world.org.admin
    live = current_version(process_key="new_business")
    assert live is not None

    def stage(doc, key):
        return next(s for s in doc["stages"] if s["key"] == key)

    def ids(doc, key):
        return [c["id"] for c in stage(doc, key).get("exit_criteria", [])]

    before = live.definition
    removed = draft_from_change(
        user=admin,
        process_key="new_business",
        change={
            "action": "remove_criterion",
            "stage": "discover",
            "criterion": "stakeholders_identified",
        },
    ).document
    assert ids(removed, "discover") == [
        c for c in ids(before, "discover") if c != "stakeholders_identified"
    ]
    moved = draft_from_change(
        user=admin,
        process_key="new_business",
        change={
            "action": "move_criterion",
            "stage": "discover",
            "criterion": "discovery_recap_accepted",
            "to": "commit",
        },
    ).document
    assert ids(moved, "commit") == [*ids(before, "commit"), "discovery_recap_accepted"]
    policy = draft_from_change(
        user=admin,
        process_key="new_business",
        change={
            "action": "set_process_field",
            "field": "gate_policy",
            "from": "warn",
            "to": "block",
        },
    ).document
    assert policy == {**before, "gate_policy": "block"}
    with pytest.raises(Exception, match="sales-ops"):
        draft_from_change(user=world.org.manager_a, process_key="new_business", change=CHANGE)


def test_nothing_visible_and_no_such_process(world, client_for):
    """A team outside the viewer's line gives no deal; an unknown process no figure."""
    client = api_client(world.org.rep_a1)
    data = client.get(API, {"team": world.org.manager_b.pk}).json()
    assert data["scope"]["exits"] == 0
    assert all(s["visitors"] == 0 for s in data["stages"])
    assert data["suggestions"] == []
    data = client.get(API, {"process": "no_such_process"}).json()
    assert (data["criteria"], data["stages"], data["scope"]["version"]) == ([], [], None)
    # The page offers the processes there are: an unknown one is refused like a bad filter.
    page = client_for(world.org.admin).get(PAGE, {"process": "no_such_process"})
    assert page.status_code == 422


def test_the_pages_button_posts_exactly_the_suggested_change(world, client_for):
    """The form under the suggestion, posted as a browser would, opens the draft."""
    client = client_for(world.org.admin)
    html = client.get(PAGE).content.decode()
    form = re.search(rf'<form method="post" action="{DRAFT}">(.*?)</form>', html, re.S)
    assert form is not None
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form[1]))
    fields.pop("csrfmiddlewaretoken")
    assert fields == {"process": "new_business", **{k: str(v) for k, v in CHANGE.items()}}
    response = client.post(DRAFT, fields)
    draft = ProcessDraft.objects.get()
    assert response["Location"] == reverse("process:draft", args=[draft.pk])
    engage = next(s for s in draft.document["stages"] if s["key"] == "engage")
    assert engage["max_days"] == 50


FIGURE_COUNTS = [
    ("criterion", "exits", "fit_with_ideal_customer", 4),
    ("criterion", "met", "fit_with_ideal_customer", 2),
    ("criterion", "unmet", "fit_with_ideal_customer", 1),
    ("criterion", "waived", "fit_with_ideal_customer", 1),
    ("criterion", "late", "discovery_recap_accepted", 1),
    ("stage_health", "lost_here", "discover", 1),
    ("stage_health", "skipped", "commit", 1),
]


@pytest.mark.parametrize(("figure", "part", "key", "count"), FIGURE_COUNTS)
def test_each_figure_opens_the_deals_behind_it(world, client_for, figure, part, key, count):
    """The criterion and stage figures link to the deals table, which lists as many deals."""
    from urllib.parse import parse_qs, urlsplit

    from milepost.analytics.filters import AnalyticsFilters
    from milepost.analytics.selectors import figure_deal_ids

    admin = world.org.admin
    ids = figure_deal_ids(
        user=admin, filters=AnalyticsFilters(), figure=figure, part=part, stage=key
    )
    assert len(ids) == count
    html = client_for(admin).get(PAGE).content.decode()
    links = [
        parse_qs(urlsplit(href.replace("&amp;", "&")).query)
        for href in re.findall(r'href="(/analytics/deals/\?[^"]+)"', html)
    ]
    wanted = {"figure": [figure], "part": [part], "stage": [key]}
    matches = [q for q in links if all(q.get(k) == v for k, v in wanted.items())]
    assert matches  # a cell of the table (and, for some, a bar of its chart: the same link)
    query = matches[0]
    assert all(q == query for q in matches)
    listed = client_for(admin).get(reverse("analytics:deals"), {k: v[0] for k, v in query.items()})
    assert listed.status_code == 200
    names = set(Opportunity.objects.filter(pk__in=ids).values_list("name", flat=True))
    assert names
    assert all(name in listed.content.decode() for name in names)


def test_the_deals_behind_an_effectiveness_figure_are_scoped(world):
    from milepost.analytics.filters import AnalyticsFilters
    from milepost.analytics.selectors import UnknownFigure, figure_deal_ids

    def exits(role: str) -> set[int]:
        return set(
            figure_deal_ids(
                user=getattr(world.org, role),
                filters=AnalyticsFilters(),
                figure="criterion",
                part="exits",
                stage="fit_with_ideal_customer",
            )
        )

    everyone = exits("admin")
    mine = exits("rep_a1")
    assert mine < everyone
    assert set(Opportunity.objects.filter(pk__in=mine).values_list("owner", flat=True)) == {
        world.org.rep_a1.pk
    }
    with pytest.raises(UnknownFigure):
        figure_deal_ids(
            user=world.org.admin, filters=AnalyticsFilters(), figure="criterion", part="all"
        )


def test_the_page_charts_stage_losses_and_criterion_win_rates(world, client_for):
    """Each chart has its table beside it, a text alternative, and bars that open the deals."""
    html = client_for(world.org.admin).get(PAGE).content.decode()
    assert '<title id="chart-stages-title">Loss rate in each stage</title>' in html
    assert '<title id="chart-criteria-title">Win rate with each criterion met' in html
    (stages,) = re.findall(r'<desc id="chart-stages-desc">([^<]*)</desc>', html)
    assert "Discover:" in stages
    (criteria,) = re.findall(r'<desc id="chart-criteria-desc">([^<]*)</desc>', html)
    assert "met too few deals" in criteria
    assert html.count("figure=stage_health&amp;part=lost_here") >= 2  # the bar and the cell
