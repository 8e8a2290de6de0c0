"""On PostgreSQL, inspection outside a transaction reads through the native Arrow connection
(ADBC, binary COPY, on the exported snapshot); inside one it reads with COPY on Django's
connection. Both give the same frames, value for value and type for type."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import polars as pl
import pytest
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from milepost.inspection import sql_frames
from milepost.inspection.pipeline import inspect_pipeline
from milepost.inspection.sql_frames import ArrowReader, consistent_reads, read_frame
from milepost.pipeline.models import Opportunity
from milepost.process.services import process_load_defaults
from milepost.testing.factories import make_contact, make_opportunity, make_org

SCHEMA = {
    "opportunity_id": pl.Int64,
    "amount": pl.Decimal(38, 2),
    "close_date": pl.Date,
    "next_step": pl.String,
    "next_step_date": pl.Date,
    "probability": pl.Int64,
    "stage_entered_at": pl.Datetime("us", "UTC"),
    "overridden": pl.Boolean,
}


def _deals_frame() -> pl.DataFrame:
    qs = Opportunity.objects.order_by("pk").values_list(
        "id",
        "amount",
        "close_date",
        "next_step",
        "next_step_date",
        "probability",
        "stage_entered_at",
        "probability_overridden",
    )
    return read_frame(qs, SCHEMA)


@pytest.mark.django_db(transaction=True)
def test_arrow_and_copy_reads_give_the_same_frames() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the native Arrow reader is PostgreSQL's")
    process_load_defaults()
    org = make_org()
    deals = [
        make_opportunity(owner=org.rep_a1, amount="1234.56"),
        make_opportunity(owner=org.rep_a2, stage_key="evaluate", amount="0.01"),
        make_opportunity(owner=org.rep_b1, stage_key="won", amount="99999999.99"),
    ]
    Opportunity.objects.filter(pk=deals[0].pk).update(
        next_step="Call the CFO — “budget”", next_step_date=datetime(2026, 12, 1).date()
    )
    contact = make_contact(deals[1].account)
    activity = deals[1].activities.create(
        type="meeting",
        occurred_at=datetime(2026, 11, 20, 9, 30, 15, 123456, tzinfo=UTC),
        owner=org.rep_a2,
        subject="x",
    )
    activity.contacts.set([contact])
    deals[2].activities.create(  # planned ahead: this deal's facts are stale
        type="call", occurred_at=timezone.now() + timedelta(days=3), owner=org.rep_b1, subject="y"
    )
    ArrowReader.discard()

    with consistent_reads():
        assert sql_frames._ARROW.get() is not None  # outermost: the Arrow path is on
        arrow = _deals_frame()
    with transaction.atomic(), consistent_reads():
        assert sql_frames._ARROW.get() is None  # a caller's transaction: COPY on Django's
        copied = _deals_frame()
    assert arrow.schema == copied.schema == pl.Schema(SCHEMA)
    assert arrow.equals(copied)
    assert arrow["amount"].to_list() == [
        Decimal("1234.56"),
        Decimal("0.01"),
        Decimal("99999999.99"),
    ]
    assert arrow["next_step"][0] == "Call the CFO — “budget”"

    as_of = timezone.now()
    for user in (org.admin, org.manager_a, org.rep_a1):
        outside = inspect_pipeline(user=user, as_of=as_of, include_closed=True, with_statuses=True)
        with transaction.atomic():
            inside = inspect_pipeline(
                user=user, as_of=as_of, include_closed=True, with_statuses=True
            )
        assert outside.deals.height > 0
        assert outside.deals.equals(inside.deals)
        assert outside.statuses.sort("opportunity_id", "criterion_id").equals(
            inside.statuses.sort("opportunity_id", "criterion_id")
        )
        assert outside.signals.equals(inside.signals)


@pytest.mark.django_db(transaction=True)
def test_a_dropped_arrow_connection_is_replaced() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the native Arrow reader is PostgreSQL's")
    process_load_defaults()
    org = make_org()
    make_opportunity(owner=org.rep_a1)
    with consistent_reads():
        first = _deals_frame()
    reader = ArrowReader.for_default_database()
    with connection.cursor() as cursor:  # the server ends the reader's session
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    with consistent_reads():
        again = _deals_frame()
    assert again.equals(first)
    assert ArrowReader.for_default_database() is not reader


@pytest.mark.django_db(transaction=True)
def test_the_inspection_page_closes_its_arrow_connection_when_the_request_ends(client) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the native Arrow reader is PostgreSQL's")
    process_load_defaults()
    org = make_org()
    make_opportunity(owner=org.rep_a1, stage_key="evaluate")

    def other_sessions() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return cursor.fetchone()[0]

    before = other_sessions()
    client.force_login(org.manager_a)
    response = client.get(reverse("inspection:list"))
    assert response.status_code == 200
    # The page opened a native reader and the end of the request closed it: the reader is
    # gone from this thread, and its server session ends (the server notices the closed
    # socket a moment later, hence a bounded wait on the condition).
    assert getattr(ArrowReader._local, "reader", None) is None
    deadline = time.monotonic() + 10
    while other_sessions() != before and time.monotonic() < deadline:
        pass
    assert other_sessions() == before
