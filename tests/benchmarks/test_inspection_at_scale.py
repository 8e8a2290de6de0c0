"""Inspection of a bulk-loaded pipeline through the production read path: ADBC's PostgreSQL
driver on the exported snapshot; on SQLite, Django's connection to the database file.

``bin/bench inspection`` panicked with Polars 2.1.0 (``assertion failed: i < self.len()`` in
``compute_signals``, from 20,000 deals with the benchmark's seed). The deal facts come out of
a streaming join in one chunk per thread; ``compute_signals`` cuts them into one morsel per
thread again, so when the first chunk is the longer one a morsel starts with its last few
deals. A signal none of those deals fires left a zero-length chunk in front of that morsel,
which ``pl.format`` could not read (see ``benchmarks/polars_format_empty_chunk.py``). It is
not the pipeline's size but which half holds more open deals: seed 2 puts more in the first,
and 3,000 deals panicked on every run from 2 to 16 threads (one thread reads one chunk and
never did). ``test_signals_of_facts_in_several_chunks`` (engine) pins the bug on any machine.
"""

from __future__ import annotations

import pytest
from benchmarks.inspection import AS_OF
from benchmarks.load import load_pipeline
from benchmarks.scale_data import ScaleConfig
from django.db import connection, transaction

from milepost.inspection.pipeline import InspectionResult, inspect_pipeline
from milepost.team.models import User
from milepost.testing.factories import load_default_processes
from milepost.testing.reads import production_reader, recorded_reads

CONFIG = ScaleConfig(opportunities=3_000, seed=2)
RUNS = 3  # the join's chunks can come out in either order


def _inspect(admin: User) -> InspectionResult:
    return inspect_pipeline(user=admin, as_of=AS_OF, include_closed=True)


@pytest.mark.django_db(transaction=True)  # the native readers see committed rows only
def test_bulk_loaded_pipeline_inspects_through_the_production_reader() -> None:
    load_default_processes()
    load_pipeline(connection, CONFIG)
    admin = User.objects.get(username="bench.admin")
    with recorded_reads() as served:
        native = [_inspect(admin) for _ in range(RUNS)]
    with transaction.atomic():  # read on Django's own connection
        expected = _inspect(admin)

    assert served
    assert set(served) == {production_reader()}  # every read of the runs
    assert expected.deals.height == CONFIG.opportunities
    assert expected.signals.height > CONFIG.opportunities // 10
    for result in native:
        assert result.deals.equals(expected.deals)
        assert result.signals.equals(expected.signals)
