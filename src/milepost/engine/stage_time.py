"""Days in stage: the one definition, for one deal and for a frame of deals.

The deal page's header and the board counted calendar days between local dates while the
inspection signals counted elapsed time, so the same deal showed 162 days in its header and
161 in its risk table. Both now use this module: whole days elapsed between entering the stage
and the moment asked about (``(as_of - entered) // 1 day``, never below 0). The scalar and the
Polars form are tested to agree (engine/tests/test_stage_time.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

_DAY = timedelta(days=1)


def days_in_stage(entered_at: datetime, as_of: datetime) -> int:
    """Whole days a deal has been in its stage at ``as_of`` (0 if it entered later)."""
    return max(0, (as_of - entered_at) // _DAY)


def days_in_stage_expr(entered_at: pl.Expr, as_of: pl.Expr) -> pl.Expr:
    """:func:`days_in_stage` for a column of entry times (whole days, floored at 0)."""
    return (as_of - entered_at).dt.total_days().clip(lower_bound=0)
