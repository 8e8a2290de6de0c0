"""Writes for any import: count what became of each row, record the issues, close the run.

An importer reads its source into records and :class:`Issue` s, writes what it can, counts each
row with :class:`RowCounts` and ends with :func:`import_run_finish`, which stores one
:class:`ImportIssue` per issue and checks that every file adds up
(``read = created + updated + unchanged + rejected``).

Not done here: reading a source, matching rows or writing them; each importer does that (the
demo's is :mod:`milepost.demo.importer`). Nothing here knows a file format or a target model.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from milepost.imports.models import ImportIssue, ImportRun

ISSUE_BATCH = 2_000


@dataclass(frozen=True)
class Issue:
    """One finding about a row of a file (``row`` None: about the file or many rows) and what
    the importer did: corrected it, warns about it, or rejected the row."""

    file: str
    row: int | None
    field: str
    severity: str
    message: str
    value: str = ""


@dataclass
class RowCounts:
    """Per-file row outcomes: created, updated or unchanged (rejections are the reader's)."""

    created: Counter[str]
    updated: Counter[str]
    unchanged: Counter[str]

    @classmethod
    def empty(cls) -> RowCounts:
        return cls(Counter(), Counter(), Counter())

    def add(self, file: str, outcome: str) -> None:
        getattr(self, outcome)[file] += 1


def import_run_finish(
    run: ImportRun,
    *,
    files: Sequence[str],
    read: Mapping[str, int],
    rejected: Mapping[str, int],
    counts: RowCounts,
    issues: Sequence[Issue],
    summary: Mapping[str, Any],
) -> ImportRun:
    """Store ``issues`` on ``run``, its totals per file and overall, ``summary`` (plus the
    files, the issues by severity and the seconds since the run started), and mark it finished.

    Raises ``AssertionError`` if a file's rows do not add up: that is an importer bug, never
    bad data, and the caller's transaction must not commit it.
    """
    ImportIssue.objects.bulk_create(
        [
            ImportIssue(
                run=run,
                file=i.file,
                row_number=i.row,
                field=i.field,
                severity=i.severity,
                message=i.message[:500],
                value=i.value[:300],
            )
            for i in issues
        ],
        batch_size=ISSUE_BATCH,
    )
    per_file: dict[str, dict[str, int]] = {}
    for name in files:
        per_file[name] = {
            "read": read[name],
            "created": counts.created[name],
            "updated": counts.updated[name],
            "unchanged": counts.unchanged[name],
            "rejected": rejected[name],
        }
        accounted = sum(v for k, v in per_file[name].items() if k != "read")
        if accounted != per_file[name]["read"]:  # pragma: no cover - a bug, never data
            raise AssertionError(f"{name}: {per_file[name]} does not add up")
    run.rows_read = sum(f["read"] for f in per_file.values())
    run.rows_created = sum(f["created"] for f in per_file.values())
    run.rows_updated = sum(f["updated"] for f in per_file.values())
    run.rows_unchanged = sum(f["unchanged"] for f in per_file.values())
    run.rows_rejected = sum(f["rejected"] for f in per_file.values())
    now = timezone.now()
    run.summary = {
        "files": per_file,
        "issues": dict(Counter(i.severity for i in issues)),
        **summary,
        "seconds": round((now - run.started_at).total_seconds(), 2),
    }
    run.finished_at = now
    run.save()
    return run
