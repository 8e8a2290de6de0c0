"""Plain-text report of an import run: counts per file, then issues grouped by kind.

Issues are grouped by (severity, file, field, message) so 1,480 identical product corrections
read as one line with a count and the first row numbers, not 1,480 lines.
"""

from __future__ import annotations

from collections import defaultdict

from milepost.imports.models import ImportIssue, ImportRun

SEVERITY_ORDER = {"rejected": 0, "warning": 1, "corrected": 2}


def import_report(run: ImportRun, *, sample_rows: int = 8) -> str:
    """A human-readable report of ``run`` (what was read, written, corrected and rejected)."""
    lines = [
        f"Import {run.kind} from {run.source}",
        f"  rows read {run.rows_read:,} = created {run.rows_created:,} + updated "
        f"{run.rows_updated:,} + unchanged {run.rows_unchanged:,} + rejected {run.rows_rejected:,}",
    ]
    files = run.summary.get("files", {})
    if files:
        width = max(len(name) for name in files)
        lines.append("")
        lines.append(
            f"  {'file':<{width}}  {'read':>6}  {'created':>7}  {'updated':>7}  "
            f"{'unchanged':>9}  {'rejected':>8}"
        )
        for name, c in files.items():
            lines.append(
                f"  {name:<{width}}  {c['read']:>6,}  {c['created']:>7,}  {c['updated']:>7,}  "
                f"{c['unchanged']:>9,}  {c['rejected']:>8,}"
            )
    synthetic = run.summary.get("synthetic")
    if synthetic:
        lines.append("")
        lines.append(
            "  synthesised: "
            + ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in synthetic.items())
        )
    if run.summary.get("shift_days") is not None:
        lines.append(
            f"  dates shifted by {run.summary['shift_days']} days "
            f"(dataset horizon {run.summary.get('dataset_horizon')} -> {run.summary.get('as_of')})"
        )
    groups: dict[tuple[str, str, str, str], list[ImportIssue]] = defaultdict(list)
    for issue in run.issues.order_by("file", "row_number", "pk"):
        groups[(issue.severity, issue.file, issue.field, issue.message)].append(issue)
    if groups:
        lines.append("")
        lines.append("  Issues:")
    for (severity, file, field, message), issues in sorted(
        groups.items(), key=lambda kv: (SEVERITY_ORDER.get(kv[0][0], 9), kv[0][1], kv[0][2])
    ):
        rows = [str(i.row_number) for i in issues if i.row_number is not None]
        where = f"{file}:{field}" if field else file
        lines.append(f"  - {severity:<9} {len(issues):>5,} x {where}: {message}")
        if rows:
            more = " …" if len(rows) > sample_rows else ""
            lines.append(f"      rows {', '.join(rows[:sample_rows])}{more}")
        values = sorted({i.value for i in issues if i.value})
        if values and len(values) <= 5:
            lines.append(f"      values: {', '.join(values)}")
    return "\n".join(lines)
