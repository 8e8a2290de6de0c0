"""A record of every import run and what it did with each row.

An import never drops a row silently: each one is imported, updated, skipped as unchanged, or
reported with the row number, the field and the reason.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy


class ImportRun(models.Model):
    """One run of an importer over one source."""

    kind = models.CharField(max_length=64)
    source = models.CharField(max_length=500)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    rows_read = models.PositiveIntegerField(default=0)
    rows_created = models.PositiveIntegerField(default=0)
    rows_updated = models.PositiveIntegerField(default=0)
    rows_unchanged = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.started_at:%Y-%m-%d %H:%M}"


class ImportIssue(models.Model):
    """A row the importer corrected, or could not import, and why."""

    class Severity(models.TextChoices):
        CORRECTED = "corrected", gettext_lazy("Corrected")
        WARNING = "warning", gettext_lazy("Warning")
        REJECTED = "rejected", gettext_lazy("Rejected")

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="issues")
    file = models.CharField(max_length=120)
    row_number = models.PositiveIntegerField(null=True, blank=True)
    field = models.CharField(max_length=64, blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    message = models.CharField(max_length=500)
    value = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["run", "file", "row_number"]

    def __str__(self) -> str:
        where = f"{self.file} row {self.row_number}" if self.row_number else self.file
        return f"{where} {self.field}: {self.message}"
