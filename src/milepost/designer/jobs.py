"""Publishing as a background job: queued from the page or the API, run by the job runner.

Publishing moves every open deal of the process (seconds on the demo's 2,000 deals, more on a
real pipeline), so the request only checks what it can at once and queues
:func:`publish_draft_task`; the page polls the job's progress. The job previews the effect
(under control before), publishes in one transaction reporting each chunk of deals moved, then
inspects the moved deals again (under control after). At most one publish per draft is queued
or running (:class:`~milepost.core.jobs.JobAlreadyRunning`); a retried job finds the draft
published and reports that version instead of publishing twice.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django_tasks import task

from milepost.core.errors import InvalidChange, NotFound, VersionConflict
from milepost.core.jobs import Progress, job_enqueue, job_get, job_run
from milepost.core.models import JobProgress
from milepost.designer.access import require_designer
from milepost.designer.preview import publish_preview
from milepost.designer.publish import draft_publish, publish_check
from milepost.engine.process_schema import ProcessInvalid
from milepost.inspection.pipeline import inspect_pipeline
from milepost.process.models import ProcessDraft
from milepost.team.models import User

logger = logging.getLogger(__name__)

PUBLISH = "designer.publish"
EXPECTED = (InvalidChange, VersionConflict, NotFound, PermissionDenied, ProcessInvalid)


def publish_subject(draft_id: int) -> str:
    return f"process_draft:{draft_id}"


def publish_enqueue(
    *, user: User, draft_id: int, expected_version: int, mapping: dict[str, str]
) -> JobProgress:
    """Queue the publish of a draft; raises ``JobAlreadyRunning`` while one is active."""
    require_designer(user)
    return job_enqueue(
        task=publish_draft_task,
        kind=PUBLISH,
        subject=publish_subject(draft_id),
        requested_by_id=user.pk,
        user_id=user.pk,
        draft_id=draft_id,
        expected_version=expected_version,
        mapping=dict(mapping),
    )


def publish_job_get(*, user: User, draft_id: int, job_id: Any) -> JobProgress:
    """A publish job of this draft, for a sales-ops admin; ``NotFound`` for any other job id."""
    require_designer(user)
    job = job_get(job_id)
    if job is None or job.kind != PUBLISH or job.subject != publish_subject(draft_id):
        raise NotFound("no such publish job for this draft")
    return job


@task()
def publish_draft_task(
    *, job_id: str, user_id: int, draft_id: int, expected_version: int, mapping: dict[str, str]
) -> dict[str, Any]:
    """The job: preview, publish with progress, inspect after. Its result is the job's."""
    return job_run(
        job_id,
        lambda progress: _publish(progress, user_id, draft_id, expected_version, mapping),
        expected=EXPECTED,
    )


def _publish(
    progress: Progress,
    user_id: int,
    draft_id: int,
    expected_version: int,
    mapping: dict[str, str],
) -> dict[str, Any]:
    user = User.objects.filter(pk=user_id).first()
    require_designer(user)
    draft = ProcessDraft.objects.select_related("published_as").filter(pk=draft_id).first()
    if draft is None:
        raise NotFound(f"draft {draft_id} not found")
    if draft.published_as is not None:  # the runner retried a job that had published
        return {"version": draft.published_as.number, "already_published": True}
    # Refused before any work if the draft changed, went stale or needs another mapping since
    # the job was queued (the publish checks again under the draft's lock).
    publish_check(user=user, draft_id=draft_id, expected_version=expected_version, mapping=mapping)
    progress.report(0, None, "checking the deals' control before publishing")
    before = publish_preview(user=user, draft=draft, mapping=mapping)
    result = draft_publish(
        user=user,
        draft_id=draft_id,
        expected_version=expected_version,
        mapping=mapping,
        progress=lambda done, total, what: progress.report(done, total, what),
    )
    progress.report(result.moved, result.moved, "checking the deals' control after publishing")
    try:
        after: int | None = int(
            inspect_pipeline(user=user, process_version_id=result.version.pk)
            .deals["under_control"]
            .sum()
        )
    except Exception:  # the publish is committed: report it, without the figure
        logger.exception("inspecting after publishing draft %s failed", draft_id)
        after = None
    return {
        "version": result.version.number,
        "previous_version": result.previous.number if result.previous else None,
        "moved": result.moved,
        "moves": [
            {"from": old, "to": new, "deals": n} for (old, new), n in sorted(result.moves.items())
        ],
        "open_deals": before.open_deals,
        "under_control_before": before.under_control_before,
        "under_control_after": after,
        "preview_under_control_after": before.under_control_after,
        "already_published": False,
    }
