"""The scalar and frame forms of days in stage agree, on and around day boundaries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from milepost.engine.stage_time import days_in_stage, days_in_stage_expr

AS_OF = datetime(2026, 10, 16, 9, 0, tzinfo=UTC)


def test_whole_days_elapsed_not_calendar_days():
    # Entered late on the 14th, asked early on the 16th: one full day elapsed, not two dates.
    assert days_in_stage(datetime(2026, 10, 14, 23, 0, tzinfo=UTC), AS_OF) == 1
    assert days_in_stage(datetime(2026, 10, 14, 9, 0, tzinfo=UTC), AS_OF) == 2
    assert days_in_stage(AS_OF + timedelta(hours=1), AS_OF) == 0


@given(st.integers(min_value=-5 * 86400, max_value=400 * 86400))
def test_scalar_and_frame_forms_agree(seconds):
    entered = AS_OF - timedelta(seconds=seconds)
    frame = pl.DataFrame({"entered": [entered]}, schema={"entered": pl.Datetime("us", "UTC")})
    as_of = pl.lit(AS_OF, dtype=pl.Datetime("us", "UTC"))
    shown = frame.select(days_in_stage_expr(pl.col("entered"), as_of)).item()
    assert shown == days_in_stage(entered, AS_OF)
