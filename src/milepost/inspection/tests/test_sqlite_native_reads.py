"""On SQLite, inspection reads on Django's own connection, never on a second copy of SQLite.

ADBC's SQLite driver (the native reader inspection used on SQLite files) links its own copy of
SQLite. Two copies in one process on one file break SQLite's POSIX locks: when the native
connection closed, SQLite deleted the write-ahead log under Django's still-open connection;
new connections then failed with "disk I/O error" and Django's later writes were invisible to
them (https://www.sqlite.org/howtocorrupt.html, "multiple copies of SQLite linked into the
same application"). This test commits data to the test database file, inspects it as a
request does, and checks that another connection still reads the database and Django's later
writes.
"""

from __future__ import annotations

import sqlite3

import pytest
from django.db import connection
from django.utils import timezone

from milepost.inspection.pipeline import inspect_pipeline
from milepost.inspection.sql_frames import close_native_readers, consistent_reads
from milepost.pipeline.models import Opportunity
from milepost.process.services import process_load_defaults
from milepost.testing.factories import make_opportunity, make_org
from milepost.testing.reads import DJANGO, recorded_reads


@pytest.mark.django_db(transaction=True)  # committed rows, read outside a transaction
def test_inspection_leaves_the_sqlite_file_readable_by_other_connections() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's file locking")
    process_load_defaults()
    org = make_org()
    deal = make_opportunity(owner=org.rep_a1, amount="1234.50")

    with recorded_reads() as served:
        result = inspect_pipeline(user=org.admin, as_of=timezone.now(), include_closed=True)
    close_native_readers()  # what the end of a request does
    with consistent_reads():  # and the next request's inspection
        pass
    later = make_opportunity(owner=org.rep_a2)

    assert served
    assert set(served) == {DJANGO}
    assert result.deals["opportunity_id"].to_list() == [deal.pk]
    other = sqlite3.connect(connection.settings_dict["NAME"])
    try:
        ids = [row[0] for row in other.execute("SELECT id FROM pipeline_opportunity")]
    finally:
        other.close()
    assert sorted(ids) == sorted(Opportunity.objects.values_list("id", flat=True))
    assert later.pk in ids
