"""The generic run bookkeeping: issues stored row by row, totals per file, a run that does
not add up is never finished."""

from __future__ import annotations

import pytest

from milepost.imports.models import ImportIssue, ImportRun
from milepost.imports.services import Issue, RowCounts, import_run_finish

pytestmark = pytest.mark.django_db


def test_finish_stores_issues_totals_and_summary():
    run = ImportRun.objects.create(kind="test", source="memory")
    counts = RowCounts.empty()
    for outcome in ("created", "created", "updated", "unchanged"):
        counts.add("a.csv", outcome)
    counts.add("b.csv", "created")
    issues = [
        Issue("a.csv", 3, "name", "rejected", "no name"),
        Issue("a.csv", None, "price", "corrected", "x" * 600, "v" * 400),
    ]

    import_run_finish(
        run,
        files=["a.csv", "b.csv"],
        read={"a.csv": 5, "b.csv": 1},
        rejected={"a.csv": 1, "b.csv": 0},
        counts=counts,
        issues=issues,
        summary={"note": "kept"},
    )

    run.refresh_from_db()
    assert run.finished_at is not None
    assert (run.rows_read, run.rows_created, run.rows_updated) == (6, 3, 1)
    assert (run.rows_unchanged, run.rows_rejected) == (1, 1)
    assert run.summary["files"]["a.csv"] == {
        "read": 5,
        "created": 2,
        "updated": 1,
        "unchanged": 1,
        "rejected": 1,
    }
    assert run.summary["issues"] == {"rejected": 1, "corrected": 1}
    assert run.summary["note"] == "kept"
    assert run.summary["seconds"] >= 0
    stored = list(ImportIssue.objects.filter(run=run).order_by("pk"))
    assert [(i.file, i.row_number, i.field, i.severity) for i in stored] == [
        ("a.csv", 3, "name", "rejected"),
        ("a.csv", None, "price", "corrected"),
    ]
    assert len(stored[1].message) == 500
    assert len(stored[1].value) == 300


def test_a_file_that_does_not_add_up_is_a_bug():
    run = ImportRun.objects.create(kind="test", source="memory")

    with pytest.raises(AssertionError, match="does not add up"):
        import_run_finish(
            run,
            files=["a.csv"],
            read={"a.csv": 2},
            rejected={"a.csv": 0},
            counts=RowCounts.empty(),
            issues=[],
            summary={},
        )

    run.refresh_from_db()
    assert run.finished_at is None
