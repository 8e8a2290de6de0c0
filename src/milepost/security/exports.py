"""A CSV writer that cannot be turned into a spreadsheet formula.

Local stand-in until the shared helper in ``milepost.core`` lands (issue 14): a cell that a
spreadsheet would read as a formula (``= + - @``, a tab or a carriage return first) is
prefixed with a quote, so a username like ``=HYPERLINK(...)`` stays text when an admin opens
the export. The integrator replaces this module with the core helper.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from typing import Any

from django.http import StreamingHttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> str:
    """The cell as text, quoted with ``'`` when a spreadsheet would evaluate it."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> StreamingHttpResponse:
    """Stream ``rows`` as a CSV download, every cell neutralised."""
    writer = csv.writer(_Echo())

    def lines() -> Iterable[str]:
        yield writer.writerow([neutralise(h) for h in header])
        for row in rows:
            yield writer.writerow([neutralise(cell) for cell in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
