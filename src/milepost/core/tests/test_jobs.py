"""Background jobs: queued, run by the real worker, progress and status, one active per subject.

Most tests run jobs on the immediate backend (the test settings): the job has run when
``enqueue`` returns. One test queues on the database backend and runs its worker once
(``db_worker --batch``), as ``bin/demo`` and production do.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.db import router
from django.test import override_settings
from django_tasks import TaskResultStatus, default_task_backend, task
from django_tasks_db.models import DBTaskResult

from milepost.core.errors import InvalidChange
from milepost.core.jobs import (
    JOBS_DB,
    JobAlreadyRunning,
    active_job,
    job_enqueue,
    job_get,
    job_run,
    latest_job,
)
from milepost.core.models import JobProgress, JobStatus

BOTH = ["default", "jobs"]
DB_BACKEND = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@task()
def count_to(*, job_id: str, n: int) -> dict[str, Any]:
    """A job that reports each step and returns the sum of 1..n."""

    def work(progress):
        for i in range(1, n + 1):
            progress.report(i, n, "counting")
        return {"sum": n * (n + 1) // 2}

    return job_run(job_id, work)


@task()
def refuse(*, job_id: str, unexpected: bool) -> dict[str, Any]:
    def work(progress):
        if unexpected:
            raise KeyError("secret internals")
        raise InvalidChange("the draft was changed", field="draft")

    return job_run(job_id, work, expected=(InvalidChange,))


def _enqueue(task_, subject: str = "thing:1", **kwargs) -> JobProgress:
    return job_enqueue(task=task_, kind="test.job", subject=subject, requested_by_id=7, **kwargs)


def test_job_progress_is_routed_to_the_jobs_connection():
    assert router.db_for_write(JobProgress) == JOBS_DB
    assert router.db_for_read(JobProgress) == JOBS_DB
    assert router.db_for_write(DBTaskResult) == "default"


@pytest.mark.django_db(databases=BOTH)
def test_a_job_runs_reports_progress_and_keeps_its_result():
    job = _enqueue(count_to, n=4)
    assert (job.status, job.done, job.total, job.message) == ("succeeded", 4, 4, "counting")
    assert job.result == {"sum": 10}
    assert job.requested_by_id == 7
    assert job.finished_at is not None
    assert job_get(job.pk) == job
    assert latest_job(kind="test.job", subject="thing:1") == job
    assert active_job(kind="test.job", subject="thing:1") is None
    # A finished job does not block the next one for the same subject.
    assert _enqueue(count_to, n=1).result == {"sum": 1}


@pytest.mark.django_db(databases=BOTH)
def test_a_retried_job_returns_its_result_without_running_again():
    job = _enqueue(count_to, n=3)
    JobProgress.objects.filter(pk=job.pk).update(done=0, message="marker")
    assert count_to.call(job_id=str(job.pk), n=99) == {"sum": 6}
    job.refresh_from_db()
    assert (job.done, job.message, job.result) == (0, "marker", {"sum": 6})


@pytest.mark.django_db(databases=BOTH)
def test_failures_are_recorded_domain_errors_as_they_are_others_by_type_only():
    expected = _enqueue(refuse, subject="a", unexpected=False)
    assert (expected.status, expected.error) == ("failed", "the draft was changed")
    unexpected = _enqueue(refuse, subject="b", unexpected=True)
    assert unexpected.status == "failed"
    assert "KeyError" in unexpected.error
    assert "secret internals" not in unexpected.error


@pytest.mark.django_db(databases=BOTH)
def test_only_one_active_job_per_kind_and_subject():
    running = JobProgress.objects.create(
        kind="test.job", subject="thing:1", status=JobStatus.RUNNING
    )
    with pytest.raises(JobAlreadyRunning) as refused:
        _enqueue(count_to, n=1)
    assert refused.value.job == running
    assert JobProgress.objects.filter(kind="test.job").count() == 1
    # another subject, or another kind for the same subject, is free
    assert _enqueue(count_to, subject="thing:2", n=1).status == "succeeded"


@pytest.mark.django_db(databases=BOTH)
def test_malformed_and_unknown_ids_are_no_job():
    assert job_get("not-a-uuid") is None
    assert job_get("00000000-0000-0000-0000-000000000001") is None


@pytest.mark.django_db(databases=BOTH, transaction=True)
def test_the_database_backend_queues_and_its_worker_runs_the_job():
    with override_settings(TASKS=DB_BACKEND):
        job = _enqueue(count_to, n=5)
        assert (job.status, job.done) == ("queued", 0)
        queued = DBTaskResult.objects.get(pk=job.task_id)
        assert queued.status == TaskResultStatus.READY
        assert queued.task_path == "milepost.core.tests.test_jobs.count_to"

        call_command(
            "db_worker", batch=True, reload=False, startup_delay=False, interval=0, verbosity=0
        )

        done = job_get(job.pk)
        assert (done.status, done.done, done.total, done.result) == ("succeeded", 5, 5, {"sum": 15})
        runner = default_task_backend.get_result(job.task_id)
        assert runner.status == TaskResultStatus.SUCCESSFUL
        assert runner.return_value == {"sum": 15}

        # A job the runner gave up on (its worker died) is failed when read, not polled forever.
        stuck = _enqueue(count_to, subject="thing:2", n=1)
        DBTaskResult.objects.filter(pk=stuck.task_id).update(status=TaskResultStatus.FAILED)
        seen = job_get(stuck.pk)
        assert (seen.status, seen.error) == ("failed", "the worker stopped before the job finished")
        assert active_job(kind="test.job", subject="thing:2") is None
