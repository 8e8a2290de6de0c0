"""The importer's deal amounts meet the same bounds as the API's and the pages': a close value
past the column's size or finer than a cent is a rejected row naming ``close_value``, not an
amount cut or rounded into the database."""

from __future__ import annotations

import pytest

from milepost.demo.importer import maven_import
from milepost.demo.tests.test_maven_import import PIPELINE, write_dataset
from milepost.pipeline.models import Opportunity

pytestmark = pytest.mark.django_db

BAD = [
    ("OPP20", "Ann Agent", "GTX Pro", "Acme", "Won", "2017-01-02", "2017-03-01", "1e12"),
    ("OPP21", "Ann Agent", "GTX Pro", "Acme", "Won", "2017-01-02", "2017-03-01", "4800.005"),
    ("OPP22", "Ann Agent", "GTX Pro", "Acme", "Won", "2017-01-02", "2017-03-01", "999999999999.99"),
]


def test_close_values_past_the_deal_bounds_are_rejected_rows(processes, tmp_path):
    folder = write_dataset(tmp_path / "maven", sales_pipeline=[*PIPELINE, *BAD])
    run = maven_import(directory=folder)
    rejected = {
        (i.row_number, i.field)
        for i in run.issues.filter(file="sales_pipeline.csv", severity="rejected")
    }
    first = len(PIPELINE) + 1  # line of the first BAD row (the header is line 1)
    assert {(first, "close_value"), (first + 1, "close_value")} <= rejected
    assert (first + 2, "close_value") not in rejected
    assert not Opportunity.objects.filter(external_id__in=["OPP20", "OPP21"]).exists()
    kept = Opportunity.objects.get(external_id="OPP22")
    assert str(kept.amount) == "999999999999.99"
