"""Permission probes of the skills pages and endpoints every role opens: the skills landing
page, the competency model (page and API) and the competencies in force.

The model is shared configuration, not anyone's coaching record: every role reads it; only a
sales-ops admin changes it, and a refused change (403) stores nothing. The landing page shows
nobody else's data: it sends a manager to their team and everyone else to their own page.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client

from milepost.coaching.models import CompetencyModel
from milepost.testing.clients import api_client
from milepost.testing.factories import make_org
from milepost.testing.probes import probed
from milepost.testing.worlds import shared_world

pytestmark = pytest.mark.django_db

API = "/api/v1/coaching"
EVERYONE = ["admin", "leader", "manager_a", "manager_b", "rep_a1", "rep_a2", "rep_b1", "rep_solo"]
MANAGERS = {"leader", "manager_a", "manager_b"}  # someone reports to them

HOME = "/coaching/skills/"
MODEL_PAGE = "/coaching/skills/model/"
READS = [MODEL_PAGE, f"{API}/competencies", f"{API}/competency-model"]
MODEL_API = f"{API}/competency-model"

PROBED = probed(
    ("get", HOME),
    *(("get", path) for path in READS),
    ("post", MODEL_PAGE),
    ("put", MODEL_API),
)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Built once for the module's probes; each probe's writes are undone after it."""
    with shared_world(django_db_blocker):
        yield make_org()


def snapshot() -> list:
    return list(CompetencyModel.objects.order_by("id").values_list("id", "version", "source_text"))


@pytest.mark.parametrize("who", EVERYONE)
def test_home_sends_each_role_to_its_own_view(world, who):
    user = getattr(world, who)
    response = api_client(user).get(HOME)
    assert response.status_code == 302
    expected = "/coaching/skills/team/" if who in MANAGERS else f"/coaching/skills/reps/{user.pk}/"
    assert response["Location"] == expected


@pytest.mark.parametrize("auth", ["session", "token"])
@pytest.mark.parametrize("who", EVERYONE)
def test_every_role_reads_the_model_and_the_competencies(world, who, auth):
    client = api_client(getattr(world, who), auth)
    for path in READS if auth == "session" else READS[1:]:
        assert client.get(path).status_code == 200, (who, path)
    assert client.get(f"{API}/competencies").json(), "the shipped competencies are listed"


@pytest.mark.parametrize("who", EVERYONE)
def test_only_an_admin_changes_the_model_and_a_refusal_stores_nothing(world, who):
    client = api_client(getattr(world, who))
    state = client.get(MODEL_API).json()
    body = {"version": state["version"], "text": state["text"]}
    before = snapshot()
    api = client.put(MODEL_API, data=json.dumps(body), content_type="application/json")
    if who == "admin":
        assert api.status_code == 200, api.content
        assert api.json()["version"] == state["version"] + 1
        return
    assert api.status_code == 403, (who, api.status_code)
    page = client.post(MODEL_PAGE, body)
    assert page.status_code == 403, (who, page.status_code)
    assert snapshot() == before


def test_anonymous_is_refused(world):
    assert Client().get(MODEL_PAGE).status_code == 302
    assert Client().get(HOME).status_code == 302
    assert Client().get(MODEL_API).status_code == 401
