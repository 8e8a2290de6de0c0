"""On SQLite, inspection outside a transaction reads the database file through ADBC's native
SQLite driver. The suite's SQLite database lives in memory, which another connection cannot
open, so this test copies it to a file (``VACUUM INTO``) and points the native reader there:
the frames and the whole inspection must equal what Django's own connection reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from django.db import connection
from django.utils import timezone

from milepost.evidence.services import evidence_record
from milepost.inspection import sql_frames
from milepost.inspection.services import inspect_pipeline
from milepost.inspection.sql_frames import SqliteArrowReader, read_frame, sqlite_file
from milepost.pipeline.models import Opportunity
from milepost.process.services import process_load_defaults
from milepost.testing.factories import make_contact, make_opportunity, make_org

SCHEMA = {
    "opportunity_id": pl.Int64,
    "amount": pl.Decimal(38, 2),
    "close_date": pl.Date,
    "next_step": pl.String,
    "next_step_date": pl.Date,
    "stage_entered_at": pl.Datetime("us", "UTC"),
    "overridden": pl.Boolean,
    "product_id": pl.Int64,
}


def _frame(since: datetime) -> pl.DataFrame:
    qs = (
        Opportunity.objects.filter(stage_entered_at__gte=since)
        .order_by("pk")
        .values_list(
            "id",
            "amount",
            "close_date",
            "next_step",
            "next_step_date",
            "stage_entered_at",
            "probability_overridden",
            "product_id",
        )
    )
    return read_frame(qs, SCHEMA)


@pytest.mark.django_db(transaction=True)
def test_native_sqlite_reads_equal_djangos(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the native SQLite reader is SQLite's")
    assert not sqlite_file(connection.settings_dict)  # why the copy below is needed
    process_load_defaults()
    org = make_org()
    deals = [
        make_opportunity(owner=org.rep_a1, amount="1234.50"),
        make_opportunity(owner=org.rep_a2, stage_key="evaluate", amount="25000"),
        make_opportunity(owner=org.rep_b1, stage_key="won", amount="0.01"),
    ]
    # Nulls first, then values: the native reader infers column types from the rows.
    Opportunity.objects.filter(pk=deals[2].pk).update(
        next_step="Send the “final” proposal", next_step_date=datetime(2026, 12, 1).date()
    )
    contact = make_contact(deals[1].account)
    activity = deals[1].activities.create(
        type="meeting",
        occurred_at=datetime(2026, 11, 20, 9, 30, 15, 123456, tzinfo=UTC),
        owner=org.rep_a2,
        subject="x",
    )
    activity.contacts.set([contact])
    deals[0].activities.create(  # planned ahead: a stale deal, re-read raw
        type="call", occurred_at=timezone.now() + timedelta(days=3), owner=org.rep_a1, subject="y"
    )
    evidence_record(
        user=org.rep_a2,
        opportunity_id=deals[1].pk,
        criterion_key="competition_known",
        note="Two alternatives named",
    )
    copy = tmp_path / "copy.sqlite3"
    with connection.cursor() as cursor:
        cursor.execute("VACUUM INTO %s", [str(copy)])

    since = timezone.now() - timedelta(days=400)
    as_of = timezone.now()
    django_frame = _frame(since)
    django_runs = {
        user.pk: inspect_pipeline(user=user, as_of=as_of, include_closed=True, with_statuses=True)
        for user in (org.admin, org.manager_a)
    }
    reader = SqliteArrowReader(str(copy))
    token = sql_frames._ARROW.set(reader)
    try:
        native_frame = _frame(since)  # a datetime parameter, bound as Django binds it
        native_runs = {
            user.pk: inspect_pipeline(
                user=user, as_of=as_of, include_closed=True, with_statuses=True
            )
            for user in (org.admin, org.manager_a)
        }
    finally:
        sql_frames._ARROW.reset(token)
        reader.close()

    # Every read went through the native reader: none fell back to Django's connection.
    assert not [r for r in caplog.records if "native SQLite read failed" in r.getMessage()]
    assert native_frame.height == 3
    assert native_frame.schema == django_frame.schema == pl.Schema(SCHEMA)
    assert native_frame.equals(django_frame)
    for user_id, native in native_runs.items():
        expected = django_runs[user_id]
        assert native.deals.height > 0
        assert native.deals.equals(expected.deals)
        assert native.signals.equals(expected.signals)
        assert native.statuses.sort("opportunity_id", "criterion_id").equals(
            expected.statuses.sort("opportunity_id", "criterion_id")
        )
