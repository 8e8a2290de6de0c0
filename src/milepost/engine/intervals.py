"""Confidence intervals for proportions, shared by every analytic that shows a rate.

Why these: win and conversion rates come from tens to thousands of deals, often near 0 or 1 (a
criterion almost always met; a stage almost never skipped). The textbook "p ± 1.96·SE" (Wald)
interval is too narrow there and can leave [0, 1]. Wilson's score interval (Wilson 1927) keeps
close to its nominal 95% coverage down to small samples, and Newcombe's hybrid score interval
for a difference of two proportions (Newcombe 1998, method 10) is built from the two Wilson
intervals, so the two figures a page shows side by side (each rate and their difference) agree.
Both are closed formulas: no iteration, no SciPy, identical on every machine.
"""

from __future__ import annotations

import math

# Two-sided 95%: the standard normal quantile at 0.975.
Z95 = 1.959963984540054


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
