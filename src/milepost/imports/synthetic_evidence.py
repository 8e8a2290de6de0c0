"""Synthetic exit-criteria evidence and close-date pushes for imported deals without them.

The Maven CRM dataset records neither evidence nor how close dates moved, so an inspection of
the raw import would show every deal past its first stage as "not under control" and no deal
ever pushed. The demo synthesises, per new deal, the plausible residue of real selling:

* evidence for most evidence criteria of the stages the deal has passed (some rep-asserted,
  some manager-verified, some buyer-confirmed with a contact of the account; a few rejected),
  marked in the note as synthetic;
* for a quarter of open deals, one to three close-date pushes dated during the deal's life.

Deterministic from the seed; vectorised draws, rows written with plain bulk inserts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from milepost.engine.process_schema import ProcessDef

EVIDENCE_RATE = 0.8  # share of a passed stage's evidence criteria that have evidence
REJECTED_RATE = 0.05
LEVELS = ("rep", "manager", "buyer")
LEVEL_WEIGHTS = (0.45, 0.3, 0.25)
PUSHED_RATE = 0.25
NOTE = "Synthetic demo evidence: {statement}"


def evidence_rows(
    process: ProcessDef,
    passed: Sequence[int],
    contacts: Sequence[int | None],
    recorded_at: Sequence[datetime],
    *,
    seed: int,
) -> list[dict[str, Any]]:
    """Evidence for deal ``i`` for criteria of open stages ``< passed[i]``.

    ``contacts[i]`` is a contact of the deal's account (None: buyer-confirmed evidence is not
    possible, so it is recorded as manager-verified instead).
    """
    rng = np.random.default_rng(seed)
    criteria = [
        (position, c)
        for position, stage in enumerate(process.open_stages)
        for c in stage.exit_criteria
        if c.needs_evidence
    ]
    rows: list[dict[str, Any]] = []
    if not criteria or not passed:
        return rows
    n = len(passed)
    draws = rng.random((n, len(criteria)))
    levels = rng.choice(len(LEVELS), size=(n, len(criteria)), p=LEVEL_WEIGHTS)
    rejected = rng.random((n, len(criteria))) < REJECTED_RATE
    limit = np.asarray(passed)[:, None]
    positions = np.array([p for p, _ in criteria])[None, :]
    chosen = (positions < limit) & (draws < EVIDENCE_RATE)
    for i, j in zip(*np.nonzero(chosen), strict=True):
        _, criterion = criteria[j]
        level = LEVELS[levels[i, j]]
        if level == "buyer" and contacts[i] is None:
            level = "manager"
        rows.append(
            {
                "deal": int(i),
                "criterion_key": criterion.id,
                "state": "rejected" if rejected[i, j] else "active",
                "level": level,
                "note": NOTE.format(statement=criterion.statement)[:4000],
                "confirmed_by": contacts[i] if level == "buyer" else None,
                "evidence_date": recorded_at[i].date() if level == "buyer" else None,
                "recorded_at": recorded_at[i],
                "rejection_reason": "Synthetic: the buyer did not confirm this in writing"
                if rejected[i, j]
                else "",
            }
        )
    return rows


def push_rows(
    open_deals: Sequence[int],
    created_at: Sequence[datetime],
    close_dates: Sequence[date],
    now: datetime,
    *,
    seed: int,
) -> list[dict[str, Any]]:
    """Close-date pushes for a share of ``open_deals`` (indexes), ending at the current date.

    The pushes chain: each moves the date from the previous one, and the last one lands on the
    deal's current close date, so the history is consistent with the deal as it is.
    """
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    for i in open_deals:
        if rng.random() >= PUSHED_RATE:
            continue
        count = int(rng.integers(1, 4))
        shifts = rng.integers(7, 46, size=count)
        start, end = created_at[i], now
        span = max((end - start).total_seconds(), 1.0)
        moments = sorted(start + timedelta(seconds=float(s)) for s in rng.random(count) * span)
        current = close_dates[i] - timedelta(days=int(shifts.sum()))
        for moment, shift in zip(moments, shifts.tolist(), strict=True):
            rows.append(
                {
                    "deal": i,
                    "changed_at": moment,
                    "close_date_from": current,
                    "close_date_to": current + timedelta(days=shift),
                    "close_date_shift_days": shift,
                }
            )
            current += timedelta(days=shift)
    return rows
