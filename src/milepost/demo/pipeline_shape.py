"""How the demo bends its synthetic history so that it looks like a live pipeline.

The dataset's open deals are old (engaged up to a year before its horizon) and it gives them no
close date. Drawn naively, every open deal sits in a stage it entered months ago, went quiet
and has a close date long past, and closed deals show no difference between won and lost in
what the inspection reads. So (documented with the targets in ``docs/demo-data.md``):

- **Open deals** keep their real created date but entered their current stage recently: a
  share :data:`ELAPSED` of their sampled time in that stage has passed (so they are still
  active, activities up to today); :data:`STALLED_SHARE` of them are stalled instead (1.5-4x
  their sampled time: quiet, too long in stage, and their close date may be past).
- **Close date of an open deal**: the day it entered its current stage plus the process's
  expected days of that stage and the ones after it (``expected_days`` of the shipped process),
  times a lognormal noise; an active deal's is at least a week ahead.
- **Closed deals**: lost deals were, modestly, quieter (activity rates x ~0.6), went quiet
  before the loss (exponential, mean :data:`LOST_QUIET_MEAN_DAYS` days), lingered longer in the
  stage they were lost from (x :data:`LOST_FINAL_VISIT_WEIGHT`) and were pushed more often
  (:data:`PUSHED_RATE_CLOSED`) than won ones: a tendency the risk model can learn, not a rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import numpy as np

from milepost.engine.history import DealShaping

STALLED_SHARE = 0.2
ELAPSED = (0.05, 0.9)
STALLED_ELAPSED = (1.5, 4.0)
LOST_ACTIVITY_SCALE = 0.6
LOST_QUIET_MEAN_DAYS = 10.0
LOST_FINAL_VISIT_WEIGHT = 1.8
CLOSE_NOISE_SIGMA = 0.25
MIN_DAYS_AHEAD = 7
PUSHED_RATE_CLOSED = {"won": 0.1, "lost": 0.3}


def draw_shaping(outcomes: Sequence[str], *, seed: int) -> tuple[DealShaping, np.ndarray]:
    """The per-deal shaping of :func:`~milepost.engine.history.fit_histories` and which open
    deals are stalled (deterministic from the seed)."""
    rng = np.random.default_rng(seed)
    o = np.asarray(outcomes)
    n = o.shape[0]
    stalled = (rng.random(n) < STALLED_SHARE) & (o == "open")
    elapsed = np.where(stalled, rng.uniform(*STALLED_ELAPSED, n), rng.uniform(*ELAPSED, n))
    lost = o == "lost"
    activity = np.where(lost, LOST_ACTIVITY_SCALE * rng.lognormal(0.0, 0.3, n), 1.0)
    quiet = np.where(lost, rng.exponential(LOST_QUIET_MEAN_DAYS, n), 0.0)
    final = np.where(lost, LOST_FINAL_VISIT_WEIGHT, 1.0)
    shaping = DealShaping(
        open_elapsed=elapsed,
        activity_scale=activity,
        quiet_days_before_close=quiet,
        final_visit_weight=final,
    )
    return shaping, stalled


def close_date_noise(n: int, *, seed: int) -> np.ndarray:
    """Lognormal factors around 1 for the expected remaining days of open deals."""
    return np.random.default_rng(seed).lognormal(0.0, CLOSE_NOISE_SIGMA, n)


def open_close_date(
    stage: int,
    entered: date,
    today: date,
    expected_days: Sequence[int],
    *,
    noise: float,
    stalled: bool,
) -> date:
    """Entered + the expected days of the current stage and the later ones (x noise); an
    active deal's close date is at least :data:`MIN_DAYS_AHEAD` days after today."""
    planned = entered + timedelta(days=round(sum(expected_days[stage:]) * noise))
    if stalled:
        return planned
    return max(planned, today + timedelta(days=MIN_DAYS_AHEAD))
