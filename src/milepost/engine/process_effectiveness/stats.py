"""Rates, comparisons and verdicts of process effectiveness, on the shared intervals
(:mod:`milepost.engine.intervals`: Wilson for a rate, Newcombe for a difference of two)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from milepost.engine.intervals import Z95, newcombe_interval, wilson_interval

__all__ = ["Z95", "newcombe_interval", "wilson_interval"]  # re-exported for the package

Verdict = Literal["too_few", "higher", "lower", "no_difference", "unclear"]
VERDICTS: tuple[Verdict, ...] = ("too_few", "higher", "lower", "no_difference", "unclear")


@dataclass(frozen=True, slots=True)
class Rate:
    """``won`` of ``n`` deals, the rate (None when ``n`` is 0) and its Wilson 95% interval."""

    won: int
    n: int
    rate: float | None
    low: float
    high: float

    @staticmethod
    def of(won: int, n: int) -> Rate:
        low, high = wilson_interval(won, n)
        return Rate(won, n, won / n if n else None, low, high)


@dataclass(frozen=True, slots=True)
class Comparison:
    """Win rate of one group of closed deals (``with_``) against another (``without``).

    ``difference`` is ``with_.rate - without.rate`` (None when a group is empty), ``low`` /
    ``high`` its Newcombe 95% interval, ``verdict`` what the interval says (:func:`verdict`).
    """

    with_: Rate
    without: Rate
    difference: float | None
    low: float
    high: float
    verdict: Verdict

    @staticmethod
    def of(
        won_with: int,
        n_with: int,
        won_without: int,
        n_without: int,
        *,
        min_group: int,
        margin: float,
    ) -> Comparison:
        a, b = Rate.of(won_with, n_with), Rate.of(won_without, n_without)
        low, high = newcombe_interval(won_with, n_with, won_without, n_without)
        diff = a.rate - b.rate if a.rate is not None and b.rate is not None else None
        return Comparison(
            a,
            b,
            diff,
            low,
            high,
            verdict(n_with, n_without, low, high, min_group=min_group, margin=margin),
        )

    @property
    def n(self) -> int:
        return self.with_.n + self.without.n


def verdict(
    n_with: int, n_without: int, low: float, high: float, *, min_group: int, margin: float
) -> Verdict:
    """What a difference's interval says, in order:

    * ``too_few``: either group has fewer than ``min_group`` closed deals: no figure is shown
      as if it meant something;
    * ``higher`` / ``lower``: the whole interval is above / below 0;
    * ``no_difference``: the whole interval lies within ``±margin`` (an equivalence test: the
      data rule out any difference that large, not just fail to find one);
    * ``unclear``: anything else (0 inside, but a difference beyond the margin not ruled out).
    """
    if min(n_with, n_without) < min_group:
        return "too_few"
    if low > 0:
        return "higher"
    if high < 0:
        return "lower"
    if -margin < low and high < margin:
        return "no_difference"
    return "unclear"


def quantile(sorted_values: list[int], q: float) -> float | None:
    """Linear-interpolated quantile (NumPy's and Polars' default "linear" method) of a sorted
    list; None when it is empty. Written out so the hand-built tests can follow it exactly."""
    if not sorted_values:
        return None
    pos = q * (len(sorted_values) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)
