"""Publishing as a background job, its impact preview, and stale drafts.

The jobs run on the immediate backend here (they have ended when the request returns);
``core/tests/test_jobs.py`` runs the real database backend and its worker.
"""

from __future__ import annotations

import json
import uuid

import pytest
from django.db import DatabaseError
from django.db.models.query import QuerySet
from django.urls import reverse
from django.utils import timezone

from milepost.core.models import JobProgress, JobStatus
from milepost.designer import services
from milepost.designer.jobs import PUBLISH, publish_draft_task, publish_subject
from milepost.designer.preview import StageMove, publish_preview
from milepost.designer.publish import StaleDraft, draft_publish
from milepost.inspection.pipeline import inspect_pipeline
from milepost.pipeline.models import Opportunity, StageTransition
from milepost.process.models import ProcessDraft, ProcessVersion
from milepost.team.models import User
from milepost.testing.factories import make_opportunity
from milepost.testing.probes import probed

pytestmark = pytest.mark.django_db(databases=["default", "jobs"])
API = "/api/v1"
A_JOB = "00000000-0000-0000-0000-000000000001"
NOT_DESIGNERS = ["leader", "manager_a", "rep_a1"]
PROBED = probed(
    ("get", f"/process/drafts/1/publish/jobs/{A_JOB}/"),
    ("post", "/process/drafts/1/rebase/"),
    ("get", f"{API}/process-drafts/1/publish-jobs/{A_JOB}"),
    ("post", f"{API}/process-drafts/1/rebase"),
)


def _post(client, path, body):
    return client.post(path, data=json.dumps(body), content_type="application/json")


def _index(draft: ProcessDraft, key: str) -> int:
    return next(i for i, s in enumerate(draft.document["stages"]) if s["key"] == key)


@pytest.fixture
def deals(org, processes):
    """Open deals on engage, discover (2) and commit across two teams and a rep with no
    manager; one won deal (it stays where it closed)."""
    return {
        "engage": make_opportunity(org.rep_a1, stage_key="engage", name="Engage deal"),
        "discover_1": make_opportunity(org.rep_a1, stage_key="discover", name="Discover one"),
        "discover_2": make_opportunity(org.rep_b1, stage_key="discover", name="Discover two"),
        "commit": make_opportunity(org.rep_b1, stage_key="commit", name="Commit deal"),
        "solo": make_opportunity(org.rep_solo, stage_key="discover", name="Solo deal"),
        "won": make_opportunity(org.rep_a2, stage_key="won", name="Won deal"),
    }


def _easier_draft(org) -> ProcessDraft:
    """Engage loses its exit criteria and discover is removed: deals past engage can now be
    under control, and the discover deals must be mapped."""
    draft = services.draft_start(user=org.admin, process_key="new_business")
    document = json.loads(json.dumps(draft.document))
    document["stages"][_index(draft, "engage")]["exit_criteria"] = []
    document["stages"].pop(_index(draft, "discover"))
    return services.draft_replace(
        user=org.admin, draft_id=draft.pk, expected_version=draft.version, document=document
    )


def _team_of(user_id: int) -> str:
    manager = User.objects.get(pk=user_id).manager
    return str(manager) if manager else "(no manager)"


def test_the_preview_is_what_publishing_then_does(org, deals):
    draft = _easier_draft(org)
    at = timezone.now()
    mapping = {"discover": "commit"}
    before = inspect_pipeline(user=org.admin, as_of=at).deals
    versions, transitions = ProcessVersion.objects.count(), StageTransition.objects.count()

    preview = publish_preview(user=org.admin, draft=draft, mapping=mapping, as_of=at)

    # nothing written by the preview
    assert (ProcessVersion.objects.count(), StageTransition.objects.count()) == (
        versions,
        transitions,
    )
    assert preview.open_deals == 5
    assert preview.under_control_before == before["under_control"].sum()
    assert preview.stage_moves == [
        StageMove("discover", "Discover", "commit", "Commit to change", 3)
    ]
    assert sorted(d.name for d in preview.moving_deals) == [
        "Discover one",
        "Discover two",
        "Solo deal",
    ]
    # The change matters, so the comparison below can tell a preview that ignores it.
    assert preview.under_control_after != preview.under_control_before

    result = draft_publish(
        user=org.admin,
        draft_id=draft.pk,
        expected_version=draft.version,
        mapping=mapping,
        at=at,
    )

    after = inspect_pipeline(user=org.admin, as_of=at, process_version_id=result.version.pk).deals
    assert after.height == preview.open_deals
    assert preview.under_control_after == after["under_control"].sum()
    actual_teams: dict[str, list[int]] = {}
    for row in after.iter_rows(named=True):
        team = actual_teams.setdefault(_team_of(row["owner_id"]), [0, 0])
        team[0] += 1
        team[1] += int(row["under_control"])
    assert {t.team: [t.deals, t.under_control_after] for t in preview.teams} == actual_teams
    assert {t.team for t in preview.teams} == {
        str(org.manager_a),
        str(org.manager_b),
        "(no manager)",
    }
    moved = Opportunity.objects.filter(stage__key="commit", stage__version=result.version)
    assert moved.count() == 4


def test_publish_page_previews_then_the_job_publishes_with_progress(org, deals, client_for):
    draft = _easier_draft(org)
    client = client_for(org.admin)
    url = reverse("process:draft_publish", args=[draft.pk])
    form = {"version": draft.version, "map__discover": "commit"}

    page = client.post(url, {**form, "action": "preview"})
    assert page.status_code == 200
    preview = page.context["preview"]
    body = page.content.decode()
    assert "What publishing would do" in body
    assert (
        f"{preview.under_control_before} → {preview.under_control_after}"
        in body.split("data-under-control>", 1)[1]
    )
    assert ProcessVersion.objects.filter(process__key="new_business").count() == 1

    done = client.post(url, {**form, "action": "publish"})
    job = JobProgress.objects.get(kind=PUBLISH)
    assert done["Location"] == reverse("process:draft_publish_job", args=[draft.pk, job.pk])
    assert (job.status, job.done, job.total) == ("succeeded", 5, 5)
    assert job.requested_by_id == org.admin.pk
    result = job.result
    assert result["moved"] == 5
    assert result["under_control_before"] == preview.under_control_before
    assert result["under_control_after"] == preview.under_control_after
    assert result["preview_under_control_after"] == preview.under_control_after
    shown = client.get(done["Location"]).content.decode()
    assert "Published as version 2" in shown
    assert "hx-trigger" not in shown  # an ended job is not polled
    partial = client.get(done["Location"], headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in partial
    assert 'data-status="succeeded"' in partial


def test_a_running_publish_shows_progress_and_blocks_a_second_one(org, deals, client_for):
    draft = _easier_draft(org)
    running = JobProgress.objects.create(
        kind=PUBLISH,
        subject=publish_subject(draft.pk),
        status=JobStatus.RUNNING,
        done=400,
        total=1346,
        message="moving deals",
    )
    client = client_for(org.admin)
    job_url = reverse("process:draft_publish_job", args=[draft.pk, running.pk])
    partial = client.get(job_url, headers={"HX-Request": "true"}).content.decode()
    assert "moving deals: 400 of 1,346" in partial
    assert 'hx-trigger="every 1s"' in partial

    page = client.post(
        reverse("process:draft_publish", args=[draft.pk]),
        {"version": draft.version, "map__discover": "commit", "action": "publish"},
    )
    assert page.status_code == 409
    assert "already queued or running" in page.content.decode()
    api = _post(
        client,
        f"{API}/process-drafts/{draft.pk}/publish",
        {"version": draft.version, "mapping": {"discover": "commit"}},
    )
    assert api.status_code == 409
    assert JobProgress.objects.filter(kind=PUBLISH).count() == 1
    assert ProcessVersion.objects.filter(process__key="new_business").count() == 1


def test_a_failing_publish_job_writes_nothing_and_says_so(org, deals, client_for, monkeypatch):
    draft = _easier_draft(org)
    real = QuerySet.bulk_create

    def failing(self, objs, *args, **kwargs):
        if self.model is StageTransition:
            raise DatabaseError("disk full")
        return real(self, objs, *args, **kwargs)

    monkeypatch.setattr(QuerySet, "bulk_create", failing)
    client = client_for(org.admin)
    client.post(
        reverse("process:draft_publish", args=[draft.pk]),
        {"version": draft.version, "map__discover": "commit", "action": "publish"},
    )
    job = JobProgress.objects.get(kind=PUBLISH)
    assert job.status == "failed"
    assert "DatabaseError" in job.error
    assert ProcessVersion.objects.filter(process__key="new_business").count() == 1
    assert not StageTransition.objects.filter(source="process_change").exists()
    draft.refresh_from_db()
    assert draft.published_as is None
    page = client.get(reverse("process:draft_publish_job", args=[draft.pk, job.pk]))
    assert "Publishing failed; nothing was changed" in page.content.decode()


def test_a_retried_publish_job_does_not_publish_twice(org, deals):
    draft = _easier_draft(org)
    job = JobProgress.objects.create(kind=PUBLISH, subject=publish_subject(draft.pk))
    kwargs = {
        "job_id": str(job.pk),
        "user_id": org.admin.pk,
        "draft_id": draft.pk,
        "expected_version": draft.version,
        "mapping": {"discover": "commit"},
    }
    first = publish_draft_task.call(**kwargs)
    # The runner runs it again, e.g. after losing track of the first run's end.
    JobProgress.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
    again = publish_draft_task.call(**kwargs)
    assert first["version"] == again["version"] == 2
    assert again["already_published"] is True
    assert ProcessVersion.objects.filter(process__key="new_business").count() == 2
    assert StageTransition.objects.filter(source="process_change").count() == 5


def test_the_api_queues_the_publish_and_reports_the_job(org, deals, client_for):
    draft = _easier_draft(org)
    client = client_for(org.admin)
    queued = _post(
        client,
        f"{API}/process-drafts/{draft.pk}/publish",
        {"version": draft.version, "mapping": {"discover": "commit"}},
    )
    assert queued.status_code == 202
    status = client.get(queued.json()["status_url"])
    assert status.status_code == 200
    job = status.json()
    assert (job["status"], job["done"], job["total"]) == ("succeeded", 5, 5)
    assert job["result"]["moved"] == 5
    # a job id of another draft, and ids that are no job, are not found
    other = services.draft_start(user=org.admin, process_key="new_business")
    assert (
        client.get(f"{API}/process-drafts/{other.pk}/publish-jobs/{job['id']}").status_code == 404
    )
    assert client.get(f"{API}/process-drafts/{draft.pk}/publish-jobs/nope").status_code == 404
    page = reverse("process:draft_publish_job", args=[other.pk, job["id"]])
    assert client.get(page).status_code == 404


# --- Stale drafts ------------------------------------------------------------------------------


def _two_drafts(org):
    first = services.draft_start(user=org.admin, process_key="new_business")
    second = services.draft_start(user=org.admin, process_key="new_business")
    return first, second


def _set_stage(org, draft, key, **values):
    draft.refresh_from_db()
    return services.draft_stage_update(
        user=org.admin,
        draft_id=draft.pk,
        expected_version=draft.version,
        stage=_index(draft, key),
        **values,
    )


def test_a_stale_draft_is_refused_and_rebased_when_nothing_conflicts(org, processes, client_for):
    first, second = _two_drafts(org)
    first = _set_stage(org, first, "engage", label="Engage the buyer")
    second = _set_stage(org, second, "discover", probability=30)
    draft_publish(user=org.admin, draft_id=first.pk, expected_version=first.version)

    with pytest.raises(StaleDraft, match=f"draft {second.pk} is stale"):
        draft_publish(user=org.admin, draft_id=second.pk, expected_version=second.version)
    client = client_for(org.admin)
    url = reverse("process:draft_publish", args=[second.pk])
    page = client.get(url).content.decode()
    assert "This draft is stale" in page
    assert reverse("process:draft_rebase", args=[second.pk]) in page
    assert 'value="publish"' not in page
    refused = client.post(url, {"version": second.version, "action": "publish"})
    assert refused.status_code == 409
    api = _post(client, f"{API}/process-drafts/{second.pk}/publish", {"version": second.version})
    assert api.status_code == 409
    assert api.json()["field"] == "based_on"
    assert f"draft {second.pk} is stale" in api.json()["detail"]
    assert (api.json()["based_on"], api.json()["live_version"]) == (1, 2)
    assert not JobProgress.objects.exists()

    rebased = client.post(
        reverse("process:draft_rebase", args=[second.pk]), {"version": second.version}
    )
    assert rebased.status_code == 302
    second.refresh_from_db()
    assert second.based_on.number == 2
    stages = {s["key"]: s for s in second.document["stages"]}
    assert stages["engage"]["label"] == "Engage the buyer"  # the published change is kept
    assert stages["discover"]["probability"] == 30  # and the draft's own
    result = draft_publish(user=org.admin, draft_id=second.pk, expected_version=second.version)
    assert result.version.number == 3
    assert result.version.definition["stages"][0]["label"] == "Engage the buyer"


def test_conflicting_changes_are_shown_three_ways_and_resolved(org, processes, client_for):
    first, second = _two_drafts(org)
    base = first.document["stages"][_index(first, "discover")]["probability"]
    first = _set_stage(org, first, "discover", probability=35)
    second = _set_stage(org, second, "discover", probability=20)
    draft_publish(user=org.admin, draft_id=first.pk, expected_version=first.version)

    client = client_for(org.admin)
    page = client.get(reverse("process:draft_publish", args=[second.pk])).content.decode()
    table = page.split("data-conflicts>", 1)[1].split("</table>", 1)[0]
    assert "stage &#x27;discover&#x27; &gt; probability" in table
    assert [cell.split("</pre>")[0].strip() for cell in table.split("<pre>")[1:]] == [
        str(base),
        "20",
        "35",
    ]
    with pytest.raises(services.RebaseConflicts):
        services.draft_rebase(user=org.admin, draft_id=second.pk, expected_version=second.version)
    refused = _post(client, f"{API}/process-drafts/{second.pk}/rebase", {"version": second.version})
    assert refused.status_code == 409
    (conflict,) = refused.json()["conflicts"]
    assert (conflict["base"], conflict["ours"], conflict["theirs"]) == (base, 20, 35)
    second.refresh_from_db()
    assert second.based_on.number == 1  # nothing written

    kept = _post(
        client,
        f"{API}/process-drafts/{second.pk}/rebase",
        {"version": second.version, "prefer": "ours"},
    )
    assert kept.status_code == 200
    assert kept.json()["based_on"] == 2
    second.refresh_from_db()
    assert second.document["stages"][_index(second, "discover")]["probability"] == 20
    bad = _post(client, f"{API}/process-drafts/{second.pk}/rebase", {"version": 1, "prefer": "x"})
    assert bad.status_code == 422


def test_a_queued_publish_refuses_a_draft_that_went_stale_meanwhile(org, processes):
    first, second = _two_drafts(org)
    second = _set_stage(org, second, "discover", probability=30)
    job = JobProgress.objects.create(kind=PUBLISH, subject=publish_subject(second.pk))
    first = _set_stage(org, first, "engage", label="Engage the buyer")
    draft_publish(user=org.admin, draft_id=first.pk, expected_version=first.version)

    with pytest.raises(StaleDraft):
        publish_draft_task.call(
            job_id=str(job.pk),
            user_id=org.admin.pk,
            draft_id=second.pk,
            expected_version=second.version,
            mapping={},
        )

    job.refresh_from_db()
    assert job.status == "failed"
    assert f"draft {second.pk} is stale" in job.error
    assert ProcessVersion.objects.filter(process__key="new_business").count() == 2


@pytest.mark.parametrize("role", NOT_DESIGNERS)
def test_other_roles_cannot_reach_jobs_or_rebase(org, deals, client_for, role):
    draft = _easier_draft(org)
    job = JobProgress.objects.create(kind=PUBLISH, subject=publish_subject(draft.pk))
    client = client_for(getattr(org, role))
    for job_id in (job.pk, uuid.uuid4()):
        page = reverse("process:draft_publish_job", args=[draft.pk, job_id])
        assert client.get(page).status_code == 403
        assert (
            client.get(f"{API}/process-drafts/{draft.pk}/publish-jobs/{job_id}").status_code == 403
        )
    assert (
        client.post(reverse("process:draft_rebase", args=[draft.pk]), {"version": 1}).status_code
        == 403
    )
    assert (
        _post(client, f"{API}/process-drafts/{draft.pk}/rebase", {"version": 1}).status_code == 403
    )
    draft.refresh_from_db()
    assert draft.version == 2
