"""Inspection reads on several connections give exactly what one connection gives.

Parallel reads happen only outside a transaction (other connections cannot see a transaction's
uncommitted rows), so this test commits its data (``transaction=True``) and compares the
two runs frame by frame, on whichever database the suite runs on. On PostgreSQL the workers
import the main connection's exported snapshot.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from milepost.evidence.services import evidence_record
from milepost.inspection.pipeline import inspect_pipeline
from milepost.inspection.sql_frames import consistent_reads
from milepost.process.services import process_load_defaults
from milepost.testing.factories import make_contact, make_opportunity, make_org


@pytest.mark.django_db(transaction=True)
def test_parallel_reads_equal_sequential_reads() -> None:
    process_load_defaults()
    org = make_org()
    deals = [
        make_opportunity(owner=owner, stage_key=stage)
        for owner, stage in [
            (org.rep_a1, "engage"),
            (org.rep_a1, "evaluate"),
            (org.rep_a2, "commit"),
            (org.rep_b1, "negotiate"),
            (org.rep_b1, "won"),
        ]
    ]
    contact = make_contact(deals[1].account)
    activity = deals[1].activities.create(
        type="meeting",
        occurred_at=timezone.now() - timedelta(days=2),
        owner=org.rep_a1,
        subject="x",
    )
    activity.contacts.set([contact])
    evidence_record(
        user=org.rep_a1,
        opportunity_id=deals[1].pk,
        criterion_key="competition_known",
        note="Two alternatives named",
    )
    as_of = timezone.now()
    for user in (org.admin, org.manager_a):
        one = inspect_pipeline(
            user=user, as_of=as_of, include_closed=True, with_statuses=True, read_threads=1
        )
        two = inspect_pipeline(
            user=user, as_of=as_of, include_closed=True, with_statuses=True, read_threads=2
        )
        assert one.deals.height > 0
        assert one.deals.equals(two.deals)
        assert one.statuses.sort("opportunity_id", "criterion_id").equals(
            two.statuses.sort("opportunity_id", "criterion_id")
        )
        assert one.signals.sort("opportunity_id", "signal").equals(
            two.signals.sort("opportunity_id", "signal")
        )


@pytest.mark.django_db(transaction=True)
def test_postgres_workers_are_other_connections_on_the_same_snapshot() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("exported snapshots are PostgreSQL's")

    def who() -> tuple[int, str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid(), pg_current_snapshot()::text")
            return cursor.fetchone()

    with consistent_reads(threads=2) as reads:
        main_pid, main_snapshot = who()
        seen = reads.run([who, who, who])
    assert all(pid != main_pid for pid, _ in seen)
    assert {snapshot for _, snapshot in seen} == {main_snapshot}


@pytest.mark.django_db
def test_two_connections_only_for_a_large_scope_on_postgresql(org, processes, monkeypatch):
    """Opening a Django and a native connection per worker costs more than parallel reads
    save on a team's pipeline: by default they start at ``PARALLEL_READS_FROM`` deals."""
    from milepost.inspection import pipeline

    asked: list[int] = []
    real = pipeline.consistent_reads

    def recording(threads: int = 1, **kwargs):
        asked.append(threads)
        return real(threads, **kwargs)

    monkeypatch.setattr(pipeline, "consistent_reads", recording)
    monkeypatch.setattr(pipeline.settings, "MILEPOST_INSPECTION_READ_THREADS", None)
    for owner in (org.rep_a1, org.rep_a2, org.rep_b1):
        make_opportunity(owner=owner, stage_key="engage")
    inspect_pipeline(user=org.admin)
    monkeypatch.setattr(pipeline, "PARALLEL_READS_FROM", 3)
    inspect_pipeline(user=org.admin)
    inspect_pipeline(user=org.manager_a)  # two of the three deals: below the threshold
    parallel = 2 if connection.vendor == "postgresql" else 1
    assert asked == [1, parallel, 1]
