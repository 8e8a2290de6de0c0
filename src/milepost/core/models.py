"""Model building blocks shared by the apps."""

from __future__ import annotations

import uuid

from django.db import models


class AppendOnlyError(RuntimeError):
    """Raised when code tries to change or delete a row of an append-only history."""


class AppendOnly(models.Model):
    """A history row: inserted once, never updated or deleted.

    ``save()`` of an existing row and ``delete()`` raise :class:`AppendOnlyError` here;
    ``append_only_what`` names the rows in the error ("stage transitions"). The database
    enforces the same for everything else (``QuerySet.update()``/``.delete()``, raw SQL, a
    deleted parent cascading): triggers installed by each app's ``*_append_only_triggers``
    migration refuse UPDATE and DELETE with an ``IntegrityError`` (details and the one UPDATE
    they allow, a SET_NULL reference to a deleted row, in ``pipeline/migrations/_append_only.py``).
    A new subclass needs such a migration: ``pipeline/tests/test_append_only_triggers.py``
    finds every subclass and fails without it. To rewrite history on purpose, see
    :func:`milepost.pipeline.append_only.append_only_unlocked`.
    """

    append_only_what = "these rows"

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.pk is not None and not kwargs.get("force_insert"):
            raise AppendOnlyError(f"{self.append_only_what} are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise AppendOnlyError(f"{self.append_only_what} are append-only")


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


ACTIVE_JOB_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)


class JobProgress(models.Model):
    """A background job as people see it: what it works on, how far it got, how it ended.

    The job runner (django-tasks) keeps its own result row; this one is what pages poll, written
    by the job through :mod:`milepost.core.jobs` on a connection of its own (the ``jobs``
    database alias) so progress shows while the job's own transaction is still open. At most one
    queued or running job per ``(kind, subject)``: two publishes of one draft cannot both run.
    ``requested_by_id`` is a plain id, not a foreign key: on SQLite the row lives in its own file.
    It does not say who may see the job; the feature that starts a kind of job decides that.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=64)
    subject = models.CharField(max_length=128)
    requested_by_id = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(null=True, blank=True)
    message = models.CharField(max_length=200, blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["kind", "subject"], name="job_kind_subject")]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "subject"],
                condition=models.Q(status__in=["queued", "running"]),
                name="one_active_job_per_subject",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in (JobStatus.SUCCEEDED, JobStatus.FAILED)
