"""Privacy probes of every skills page and API endpoint, as every role and with other users'
ids: ratings are coaching records (the rep, managers above them; never peers, never a sales-ops
admin by role alone). Hidden is 404 like missing; refused writes store nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from django.test import Client
from django.utils import timezone

from milepost.coaching.models import CoachingSession, SkillRating
from milepost.testing.clients import api_client
from milepost.testing.factories import Org, make_org
from milepost.testing.probes import probed
from milepost.testing.worlds import shared_world

pytestmark = pytest.mark.django_db

API = "/api/v1/coaching"
SECRET = "Struggled to name who signs; confused champion with buyer."
SEES_A1 = {"rep_a1", "manager_a", "leader"}
EVERYONE = ["admin", "leader", "manager_a", "manager_b", "rep_a1", "rep_a2", "rep_b1", "rep_solo"]
# What the *_probe tests below try as EVERYONE on rep_a1's and manager_a's ids.
PROBED = probed(
    ("get", "/coaching/skills/reps/1/"),
    ("post", "/coaching/skills/reps/1/rate/"),
    ("get", "/coaching/skills/team/?manager=1"),
    ("get", f"{API}/reps/1/skill-ratings"),
    ("post", f"{API}/reps/1/skill-ratings"),
    ("get", f"{API}/skills/heat-map?manager_id=1"),
)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[Org]:
    """The organisation, built once for the module's probes; each test's writes are undone."""
    with shared_world(django_db_blocker):
        yield make_org()


@pytest.fixture
def org(world: Org, db) -> Org:
    """This module's ``org`` is the shared world's (the package's builds one per test)."""
    return world


@pytest.fixture
def rated(org) -> SkillRating:
    return SkillRating.objects.create(
        rep=org.rep_a1,
        rater=org.manager_a,
        competency="business_acumen",
        score=2,
        observation=SECRET,
        rated_at=timezone.now(),
    )


@pytest.mark.parametrize("who", EVERYONE)
def test_rep_page_probe(org, rated, client_for, who):
    answer = client_for(getattr(org, who)).get(f"/coaching/skills/reps/{org.rep_a1.pk}/")
    if who in SEES_A1:
        assert answer.status_code == 200
        assert SECRET in answer.content.decode()
    else:
        assert answer.status_code == 404
        assert SECRET not in answer.content.decode()


@pytest.mark.parametrize("who", EVERYONE)
def test_rate_form_probe(org, rated, client_for, who):
    user = getattr(org, who)
    before = SkillRating.objects.count()
    answer = client_for(user).post(
        f"/coaching/skills/reps/{org.rep_a1.pk}/rate/",
        {"competency": "disarming", "score": "3", "observation": "Named the budget risk first."},
    )
    if who in SEES_A1:
        assert answer.status_code == 302
        latest = SkillRating.objects.latest("id")
        assert (latest.rater_id, latest.is_self) == (user.pk, who == "rep_a1")
        assert SkillRating.objects.count() == before + 1
    else:
        assert answer.status_code == 404
        assert SkillRating.objects.count() == before


def test_session_manager_gets_403_and_nothing_is_written(org, rated, client_for):
    CoachingSession.objects.create(
        manager=org.manager_b, rep=org.rep_a1, scheduled_for=timezone.now()
    )
    client = client_for(org.manager_b)
    assert client.get(f"/coaching/skills/reps/{org.rep_a1.pk}/").status_code == 200
    answer = client.post(
        f"/coaching/skills/reps/{org.rep_a1.pk}/rate/",
        {"competency": "disarming", "score": "3", "observation": "x"},
    )
    assert answer.status_code == 403
    api = api_client(org.manager_b, "session").post(
        f"{API}/reps/{org.rep_a1.pk}/skill-ratings",
        data=json.dumps({"competency": "disarming", "score": 3, "observation": "x"}),
        content_type="application/json",
    )
    assert api.status_code == 403
    assert SkillRating.objects.count() == 1


def test_htmx_rating_answers_the_panel_and_422_with_the_message(org, client_for):
    client = client_for(org.manager_a)
    url = f"/coaching/skills/reps/{org.rep_a1.pk}/rate/"
    ok = client.post(
        url,
        {"competency": "call_planning", "score": "4", "observation": "Agenda sent ahead."},
        headers={"HX-Request": "true"},
    )
    assert ok.status_code == 200
    body = ok.content.decode()
    assert 'id="skills-panel"' in body
    assert "<html" not in body
    assert "Agenda sent ahead." in body
    bad = client.post(
        url,
        {"competency": "call_planning", "score": "4", "observation": ""},
        headers={"HX-Request": "true"},
    )
    assert bad.status_code == 422
    assert "observation" in bad.content.decode().lower()
    assert '<option value="call_planning" selected>' in bad.content.decode()
    assert SkillRating.objects.count() == 1


@pytest.mark.parametrize("who", EVERYONE)
def test_heat_map_page_probe(org, rated, client_for, who):
    answer = client_for(getattr(org, who)).get(f"/coaching/skills/team/?manager={org.manager_a.pk}")
    if who in {"manager_a", "leader"}:
        assert answer.status_code == 200
        body = answer.content.decode()
        assert f"/coaching/skills/reps/{org.rep_a1.pk}/" in body
        assert "2 <small>(1)</small>" in body
    else:
        assert answer.status_code == 404


def test_anonymous_is_sent_to_login(db, org):
    for url in (
        "/coaching/skills/",
        "/coaching/skills/team/",
        "/coaching/skills/model/",
        f"/coaching/skills/reps/{org.rep_a1.pk}/",
    ):
        answer = Client().get(url)
        assert answer.status_code == 302
        assert "/login/" in answer["Location"]


@pytest.mark.parametrize("auth", ["session", "token"])
@pytest.mark.parametrize("who", EVERYONE)
def test_api_ratings_probe(org, rated, who, auth):
    client = api_client(getattr(org, who), auth)
    listed = client.get(f"{API}/reps/{org.rep_a1.pk}/skill-ratings")
    before = SkillRating.objects.count()
    added = client.post(
        f"{API}/reps/{org.rep_a1.pk}/skill-ratings",
        data=json.dumps({"competency": "disarming", "score": 4, "observation": "Seen it."}),
        content_type="application/json",
    )
    if who in SEES_A1:
        assert listed.status_code == 200
        assert [r["observation"] for r in listed.json()] == [SECRET]
        assert added.status_code == 201
        assert added.json()["is_self"] is (who == "rep_a1")
    else:
        assert listed.status_code == 404
        assert SECRET not in listed.content.decode()
        assert added.status_code == 404
        assert SkillRating.objects.count() == before


@pytest.mark.parametrize("who", EVERYONE)
def test_api_heat_map_probe(org, rated, who):
    client = api_client(getattr(org, who), "session")
    answer = client.get(f"{API}/skills/heat-map?manager_id={org.manager_a.pk}")
    if who in {"manager_a", "leader"}:
        assert answer.status_code == 200
        rows = {r["rep_id"]: r for r in answer.json()["rows"]}
        cell = next(c for c in rows[org.rep_a1.pk]["cells"] if c["competency"] == "business_acumen")
        assert (cell["score"], cell["count"]) == (2, 1)
    else:
        assert answer.status_code == 404
    own = client.get(f"{API}/skills/heat-map")
    assert own.status_code == 200
    if who not in {"manager_a", "leader"}:
        assert org.rep_a1.pk not in {r["rep_id"] for r in own.json()["rows"]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"competency": "disarming", "score": 9, "observation": "x"}, "score"),
        ({"competency": "juggling", "score": 3, "observation": "x"}, "competency"),
        ({"competency": "disarming", "score": 3, "observation": ""}, "observation"),
        ({"competency": "disarming", "score": 3, "observation": "x", "colour": "red"}, "colour"),
    ],
)
def test_api_bad_input_is_422_naming_the_field(org, body, field):
    answer = api_client(org.manager_a, "session").post(
        f"{API}/reps/{org.rep_a1.pk}/skill-ratings",
        data=json.dumps(body),
        content_type="application/json",
    )
    assert answer.status_code == 422
    assert answer.json()["field"] == field
    assert not SkillRating.objects.exists()
