"""Background jobs: start one, let it report progress, read its status for a page or the API.

Jobs run on django-tasks (the reference implementation of Django 6's ``django.tasks``) with its
database backend (``django-tasks-db``): no extra service, a worker process
(``milepost db_worker``) next to the web server. The runner keeps its own result row; what
people see is :class:`~milepost.core.models.JobProgress`, written here on the ``jobs`` database
alias, a connection of its own, so that a job doing all its writes in one transaction (a
publish) still shows "400 of 1,346" while that transaction is open.

A feature defines its task (``@task()``) to call :func:`job_run` with the work to do, starts it
with :func:`job_enqueue`, and decides itself who may read a job of its kind: nothing here
checks permissions, since core knows no roles.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, connections, transaction
from django.utils import timezone
from django_tasks import TaskResultStatus, default_task_backend
from django_tasks.exceptions import TaskResultDoesNotExist

from milepost.core.models import ACTIVE_JOB_STATUSES, JobProgress, JobStatus

logger = logging.getLogger(__name__)

JOBS_DB = "jobs"


class JobsRouter:
    """Job progress lives on the ``jobs`` alias; everything else on ``default``.

    On PostgreSQL ``jobs`` is a second connection to the same database (its table is migrated
    with ``default``); on SQLite it is a file of its own, migrated with
    ``milepost migrate --database jobs`` and holding that table only.
    """

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        return JOBS_DB if model is JobProgress else None

    def db_for_write(self, model: Any, **hints: Any) -> str | None:
        return JOBS_DB if model is JobProgress else None

    def allow_migrate(
        self, db: str, app_label: str, model_name: str | None = None, **hints: Any
    ) -> bool | None:
        if db != JOBS_DB:
            return None
        if connections[JOBS_DB].vendor != "sqlite":
            return False  # the same database as default, migrated there
        return app_label == "core" and model_name == "jobprogress"


class JobAlreadyRunning(RuntimeError):
    """A job of this kind is queued or running for this subject already (``job``)."""

    def __init__(self, job: JobProgress | None):
        self.job = job
        super().__init__("this job is already queued or running; wait for it to finish")


def job_enqueue(
    *, task: Any, kind: str, subject: str, requested_by_id: int | None, **kwargs: Any
) -> JobProgress:
    """Record a queued job and hand it to the runner (``task.enqueue(job_id=..., **kwargs)``).

    Raises :class:`JobAlreadyRunning` when a job of ``kind`` is active for ``subject``. With the
    immediate backend (tests) the job has run when this returns.
    """
    try:
        with transaction.atomic(using=JOBS_DB):
            job = JobProgress.objects.create(
                kind=kind, subject=subject, requested_by_id=requested_by_id, message="queued"
            )
    except IntegrityError:
        raise JobAlreadyRunning(active_job(kind=kind, subject=subject)) from None
    try:
        queued = task.enqueue(job_id=str(job.pk), **kwargs)
    except Exception:
        _finish(str(job.pk), JobStatus.FAILED, error="the job could not be queued")
        raise
    JobProgress.objects.filter(pk=job.pk).update(task_id=str(queued.id)[:64])
    job.refresh_from_db()
    return job


class Progress:
    """Handed to a job's work: each :meth:`report` is written at once, visible to pollers."""

    def __init__(self, job_id: str):
        self.job_id = job_id

    def report(self, done: int, total: int | None = None, message: str = "") -> None:
        JobProgress.objects.filter(pk=self.job_id).update(
            done=max(0, done),
            total=total,
            message=message[:200],
            updated_at=timezone.now(),
        )


def _finish(job_id: str, status: str, *, result: Any = None, error: str = "") -> None:
    JobProgress.objects.filter(pk=job_id).update(
        status=status,
        result=result,
        error=error,
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )


def job_run(
    job_id: str,
    work: Callable[[Progress], dict[str, Any]],
    *,
    expected: tuple[type[BaseException], ...] = (),
) -> dict[str, Any]:
    """Run ``work`` as job ``job_id``: running, then succeeded with its result or failed.

    A job that already succeeded (the runner ran it again) returns the stored result without
    running the work twice. ``expected`` errors are shown as they are (they explain themselves:
    "the draft was changed"); any other error is named by its type only and logged. The error
    is re-raised so the runner records the failure too.
    """
    job = JobProgress.objects.filter(pk=job_id).first()
    if job is None:
        raise LookupError(f"job {job_id} not found")
    if job.status == JobStatus.SUCCEEDED:
        return dict(job.result or {})
    JobProgress.objects.filter(pk=job_id).update(
        status=JobStatus.RUNNING, message="started", updated_at=timezone.now()
    )
    try:
        result = work(Progress(job_id))
    except BaseException as exc:
        if isinstance(exc, expected):
            error = str(exc)
        else:
            logger.exception("job %s (%s) failed", job_id, job.kind)
            error = f"the job failed unexpectedly ({type(exc).__name__}); see the worker's log"
        _finish(job_id, JobStatus.FAILED, error=error)
        raise
    _finish(job_id, JobStatus.SUCCEEDED, result=result)
    return result


def job_get(job_id: Any) -> JobProgress | None:
    """The job with this id (None for no such job or a malformed id), reconciled with the runner.

    A job the runner reports finished but whose own row still says queued or running (the
    worker stopped mid-job, or the work never started) is marked failed here, so a page never
    polls forever and a new publish of the same draft is allowed again.
    """
    try:
        key = uuid.UUID(str(job_id))
    except ValueError:
        return None
    job = JobProgress.objects.filter(pk=key).first()
    if job is None or job.finished or not job.task_id:
        return job
    backend = default_task_backend
    if not getattr(backend, "supports_get_result", False):
        return job
    try:
        status = backend.get_result(job.task_id).status
    except TaskResultDoesNotExist:
        return job
    if status in (TaskResultStatus.FAILED, TaskResultStatus.SUCCESSFUL):
        _finish(str(job.pk), JobStatus.FAILED, error="the worker stopped before the job finished")
        job.refresh_from_db()
    return job


def active_job(*, kind: str, subject: str) -> JobProgress | None:
    """The queued or running job of ``kind`` for ``subject``, if any."""
    job = JobProgress.objects.filter(
        kind=kind, subject=subject, status__in=ACTIVE_JOB_STATUSES
    ).first()
    return job_get(job.pk) if job else None


def latest_job(*, kind: str, subject: str) -> JobProgress | None:
    """The most recent job of ``kind`` for ``subject`` (finished or not)."""
    job = JobProgress.objects.filter(kind=kind, subject=subject).order_by("-created_at").first()
    return job_get(job.pk) if job else None
