"""The few statistics process effectiveness needs: Wilson and Newcombe intervals, a verdict.

Why these: win rates here come from tens to thousands of deals, often with rates near 0 or 1
(a criterion almost always met; a stage almost never skipped). The textbook "p ± 1.96·SE" (Wald)
interval is too narrow there and can leave [0, 1]. Wilson's score interval (Wilson 1927) keeps
close to its nominal 95% coverage down to small samples, and Newcombe's hybrid score interval
for a difference of two proportions (Newcombe 1998, method 10) is built from the two Wilson
intervals, so the two figures a page shows side by side (each rate and their difference) agree.
Both are closed formulas: no iteration, no SciPy, identical on every machine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

# Two-sided 95%: the standard normal quantile at 0.975.
Z95 = 1.959963984540054

Verdict = Literal["too_few", "higher", "lower", "no_difference", "unclear"]
VERDICTS: tuple[Verdict, ...] = ("too_few", "higher", "lower", "no_difference", "unclear")


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion; ``(0.0, 1.0)`` when ``n`` is 0 (nothing known)."""
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    # At p = 0 or 1 the formula gives the bound exactly in theory; clamp the rounding.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def newcombe_interval(
    won_a: int, n_a: int, won_b: int, n_b: int, z: float = Z95
) -> tuple[float, float]:
    """Newcombe's hybrid score interval for ``p_a - p_b`` from the two Wilson intervals.

    ``low = d - sqrt((p_a - l_a)² + (u_b - p_b)²)``, ``high = d + sqrt((u_a - p_a)² +
    (p_b - l_b)²)``. Either sample empty: ``(-1.0, 1.0)`` (nothing known).
    """
    if n_a == 0 or n_b == 0:
        return -1.0, 1.0
    p_a, p_b = won_a / n_a, won_b / n_b
    l_a, u_a = wilson_interval(won_a, n_a, z)
    l_b, u_b = wilson_interval(won_b, n_b, z)
    d = p_a - p_b
    low = d - math.sqrt((p_a - l_a) ** 2 + (u_b - p_b) ** 2)
    high = d + math.sqrt((u_a - p_a) ** 2 + (p_b - l_b) ** 2)
    return max(-1.0, low), min(1.0, high)


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
