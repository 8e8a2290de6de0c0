"""Process API: authentication, the list, and full definitions by version."""

from __future__ import annotations

import pytest

from milepost.process.services import process_load
from milepost.testing.probes import probed

pytestmark = pytest.mark.django_db

BASE = "/api/v1/processes"
ROLES = ["admin", "leader", "manager_a", "rep_a1", "rep_solo"]
# Shared definitions (no per-user rows): the list and a process, current and by version.
DEFINITIONS = [f"{BASE}/new_business", f"{BASE}/new_business/versions/1"]
PROBED = probed(("get", BASE), *(("get", url) for url in DEFINITIONS))


@pytest.mark.parametrize("url", [BASE, f"{BASE}/new_business", f"{BASE}/new_business/versions/1"])
def test_anonymous_gets_401(client, processes, url):
    assert client.get(url).status_code == 401


@pytest.mark.parametrize(
    "url", [f"{BASE}/nope", f"{BASE}/new_business/versions/5", f"{BASE}/nope/versions/1"]
)
def test_unknown_process_or_version_is_404(org, client_for, processes, url):
    assert client_for(org.rep_a1).get(url).status_code == 404


@pytest.mark.parametrize("role", ROLES)
def test_every_role_reads_a_definition_current_and_by_version(role, org, client_for, processes):
    client = client_for(getattr(org, role))
    for url in DEFINITIONS:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.json()["key"] == "new_business"


@pytest.mark.parametrize("role", ROLES)
def test_list_for_every_role(role, org, client_for, processes):
    response = client_for(getattr(org, role)).get(BASE)
    assert response.status_code == 200
    body = {p["key"]: p for p in response.json()}
    assert set(body) == {"new_business", "renewal"}
    assert body["new_business"]["current_version"] == 1
    assert body["new_business"]["stage_count"] == 8
    assert body["renewal"]["stage_count"] == 6
    assert len(body["renewal"]["checksum"]) == 64


def test_current_version_is_the_full_definition(org, client_for, processes):
    body = client_for(org.rep_a1).get(f"{BASE}/new_business").json()
    assert (body["key"], body["version"], body["is_current"]) == ("new_business", 1, True)
    assert len(body["checksum"]) == 64
    assert body["gate_policy"] == "warn"
    assert [s["key"] for s in body["stages"]] == [
        "engage",
        "discover",
        "commit",
        "evaluate",
        "justify",
        "negotiate",
        "won",
        "lost",
    ]
    commit = body["stages"][2]
    assert commit["probability"] == 20
    assert commit["forecast_category"] == "pipeline"
    criterion = commit["exit_criteria"][0]
    assert criterion == {
        "id": "economic_buyer_engaged",
        "statement": "The economic buyer confirmed solving this problem is a priority this year",
        "verifier": "buyer",
        "rule": {"contact_role": {"role": "economic_buyer", "min": 1}},
        "rule_text": "a contact with buying role Economic buyer is attached",
        "guidance": "",
    }
    assert commit["suggested_actions"][0].startswith("Ask the champion")


def test_versions_stay_readable_after_a_change(org, client_for, processes, nb_v2_text):
    process_load(text=nb_v2_text)
    client = client_for(org.rep_b1)
    current = client.get(f"{BASE}/new_business").json()
    v1 = client.get(f"{BASE}/new_business/versions/1").json()
    assert current["version"] == 2
    assert v1["version"] == 1
    assert not v1["is_current"]
    assert current["checksum"] != v1["checksum"]
    assert v1["stages"][3]["probability"] == 35
    assert current["stages"][3]["probability"] == 40
    listed = {p["key"]: p for p in client.get(BASE).json()}
    assert listed["new_business"]["versions"] == [1, 2]


def test_bearer_token_works(org, client, processes):
    from milepost.team.services import api_token_create

    issued = api_token_create(user=org.rep_a1, name="script")
    response = client.get(BASE, headers={"Authorization": f"Bearer {issued.secret}"})
    assert response.status_code == 200
