"""Playbook and job-aid API: every signed-in role reads; 401 anonymous; 404 unknown."""

from __future__ import annotations

import pytest

from milepost.process.selectors import pack_definitions
from milepost.process.services import process_load
from milepost.testing.probes import probed

pytestmark = pytest.mark.django_db

BASE = "/api/v1/processes"
PATHS = [
    f"{BASE}/new_business/stages/discover/playbook",
    f"{BASE}/new_business/versions/1/stages/discover/playbook",
    f"{BASE}/renewal/stages/terms/job-aid",
    f"{BASE}/renewal/versions/1/stages/terms/job-aid",
]


PROBED = probed(*(("get", url) for url in PATHS))  # test_every_role_reads


@pytest.mark.parametrize("url", PATHS)
def test_anonymous_gets_401(client, processes, url):
    assert client.get(url).status_code == 401


@pytest.mark.parametrize("role", ["admin", "leader", "manager_a", "rep_a1", "rep_solo"])
def test_every_role_reads(role, org, client_for, processes):
    client = client_for(getattr(org, role))
    for url in PATHS:
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize(
    "url",
    [
        f"{BASE}/nope/stages/engage/playbook",
        f"{BASE}/new_business/stages/nope/playbook",
        f"{BASE}/new_business/versions/7/stages/engage/playbook",
        f"{BASE}/renewal/stages/engage/job-aid",
        f"{BASE}/new_business/versions/7/stages/engage/job-aid",
    ],
)
def test_unknown_is_404(org, client_for, processes, url):
    response = client_for(org.rep_a1).get(url)
    assert response.status_code == 404
    assert "detail" in response.json()


def test_playbook_has_markdown_and_sanitised_html(
    org, client_for, processes, nb_text_with_playbook
):
    hostile = nb_text_with_playbook.replace(
        "      Written in the file.\n",
        "      Written in the file.\n      <script>alert(1)</script>\n",
    )
    process_load(text=hostile, source_name="v2.yaml", user=org.admin)
    body = client_for(org.rep_a1).get(f"{BASE}/new_business/stages/engage/playbook").json()
    assert (body["process"], body["version"], body["stage"]) == ("new_business", 2, "engage")
    assert "<script>" in body["markdown"]
    assert "<script" not in body["html"]
    assert '<h2 id="pb-version-two-playbook">Version two playbook</h2>' in body["html"]
    old = client_for(org.rep_a1).get(f"{BASE}/new_business/versions/1/stages/engage/playbook")
    assert "## Goals of the stage" in old.json()["markdown"]


def test_job_aid_json_has_criteria_and_the_mapped_elements_questions(org, client_for, processes):
    body = client_for(org.rep_a1).get(f"{BASE}/new_business/stages/commit/job-aid").json()
    assert body["stage_label"] == "Commit to change"
    assert body["version"] == 1
    ids = [c["id"] for c in body["exit_criteria"]]
    assert "economic_buyer_engaged" in ids
    assert all(c["verified_by"] for c in body["exit_criteria"])
    packs = pack_definitions()
    assert body["elements"], "the default commit stage maps methodology elements"
    for element in body["elements"]:
        expected = packs[element["pack"]].element(element["element"])
        assert element["label"] == expected.label
        assert element["questions"] == expected.questions[: len(element["questions"])]
        assert len(element["questions"]) >= 2
