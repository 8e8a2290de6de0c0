"""Designer API: drafts are admin-only (403 for every other role, token or session)."""

from __future__ import annotations

import json

import pytest

from milepost.pipeline.models import Opportunity
from milepost.process.models import ProcessDraft, ProcessVersion
from milepost.testing.factories import make_opportunity
from milepost.testing.probes import probed

pytestmark = pytest.mark.django_db(databases=["default", "jobs"])
API = "/api/v1"
# test_only_admins_use_drafts tries these as every other role (and the admin uses them below).
PROBED = probed(
    ("get", f"{API}/process-drafts"),
    ("post", f"{API}/processes/new_business/drafts"),
    ("post", f"{API}/process-drafts"),
    ("get", f"{API}/process-drafts/1"),
    ("get", f"{API}/process-drafts/1/diff"),
    ("put", f"{API}/process-drafts/1"),
    ("post", f"{API}/process-drafts/1/publish"),
)


def _put(client, path, body):
    return client.put(path, data=json.dumps(body), content_type="application/json")


def _post(client, path, body=None):
    return client.post(path, data=json.dumps(body or {}), content_type="application/json")


@pytest.fixture
def draft_id(org, client_for, processes) -> int:
    response = _post(client_for(org.admin), f"{API}/processes/new_business/drafts")
    assert response.status_code == 201
    return response.json()["id"]


@pytest.mark.parametrize("role", ["leader", "manager_a", "rep_a1"])
def test_only_admins_use_drafts(org, client_for, draft_id, role):
    client = client_for(getattr(org, role))
    assert client.get(f"{API}/process-drafts").status_code == 403
    assert _post(client, f"{API}/processes/new_business/drafts").status_code == 403
    new = {"key": "sneaky", "name": "Sneaky"}
    assert _post(client, f"{API}/process-drafts", new).status_code == 403
    for target in (draft_id, draft_id + 100):
        assert client.get(f"{API}/process-drafts/{target}").status_code == 403
        assert client.get(f"{API}/process-drafts/{target}/diff").status_code == 403
        assert (
            _put(
                client, f"{API}/process-drafts/{target}", {"version": 1, "document": {}}
            ).status_code
            == 403
        )
        assert (
            _post(client, f"{API}/process-drafts/{target}/publish", {"version": 1}).status_code
            == 403
        )
    assert ProcessDraft.objects.count() == 1
    assert ProcessDraft.objects.get().version == 1


def test_put_diff_and_publish_with_mapping(org, client_for, draft_id):
    deal = make_opportunity(org.rep_a1, stage_key="engage")
    client = client_for(org.admin)
    draft = client.get(f"{API}/process-drafts/{draft_id}").json()
    assert draft["problems"] == []
    document = draft["document"]
    document["stages"][0]["key"] = "connect"

    # A broken document is stored; its problems say where they are.
    broken = json.loads(json.dumps(document))
    broken["stages"][1]["probability"] = 400
    saved = _put(client, f"{API}/process-drafts/{draft_id}", {"version": 1, "document": broken})
    assert saved.status_code == 200
    (problem,) = saved.json()["problems"]
    assert (problem["stage"], problem["field"]) == (1, "probability")
    stale = _put(client, f"{API}/process-drafts/{draft_id}", {"version": 1, "document": document})
    assert stale.status_code == 409
    fixed = _put(client, f"{API}/process-drafts/{draft_id}", {"version": 2, "document": document})
    assert fixed.json()["version"] == 3

    diff = client.get(f"{API}/process-drafts/{draft_id}/diff").json()
    assert (
        "stage 'connect' added: “Engage” (open, 5%, pipeline, 2 exit criteria), first"
        in diff["changes"]
    )
    assert diff["mapping_needed"] == [{"key": "engage", "label": "Engage", "open_deals": 1}]

    refused = _post(client, f"{API}/process-drafts/{draft_id}/publish", {"version": 3})
    assert refused.status_code == 422
    assert refused.json()["mapping_needed"] == [
        {"key": "engage", "label": "Engage", "open_deals": 1}
    ]
    assert "Engage (engage): 1 open deal" in refused.json()["detail"]

    published = _post(
        client,
        f"{API}/process-drafts/{draft_id}/publish",
        {"version": 3, "mapping": {"engage": "connect"}},
    )
    assert published.status_code == 202
    queued = published.json()
    assert (
        queued["status_url"] == f"{API}/process-drafts/{draft_id}/publish-jobs/{queued['job_id']}"
    )
    # The test backend runs the job inside the request: it has ended.
    job = client.get(queued["status_url"]).json()
    assert job["status"] == "succeeded"
    assert (job["done"], job["total"]) == (1, 1)
    result = job["result"]
    assert {k: result[k] for k in ("version", "previous_version", "moved", "moves")} == {
        "version": 2,
        "previous_version": 1,
        "moved": 1,
        "moves": [{"from": "engage", "to": "connect", "deals": 1}],
    }
    assert (result["open_deals"], result["under_control_before"]) == (1, 1)
    moved = Opportunity.objects.select_related("stage__version").get(pk=deal.pk)
    assert (moved.stage.key, moved.stage.version.number) == ("connect", 2)
    again = _post(client, f"{API}/process-drafts/{draft_id}/publish", {"version": 4})
    assert again.status_code == 422


def test_publish_of_an_invalid_draft_lists_problems(org, client_for, draft_id):
    client = client_for(org.admin)
    document = client.get(f"{API}/process-drafts/{draft_id}").json()["document"]
    document["gate_policy"] = "maybe"
    _put(client, f"{API}/process-drafts/{draft_id}", {"version": 1, "document": document})
    response = _post(client, f"{API}/process-drafts/{draft_id}/publish", {"version": 2})
    assert response.status_code == 422
    assert [p["field"] for p in response.json()["problems"]] == ["gate_policy"]
    assert ProcessVersion.objects.filter(process__key="new_business").count() == 1
