"""Charts as server-rendered SVG geometry: no script, no inline style (the CSP forbids both).

A chart is a list of bars with their coordinates in a fixed ``viewBox`` (the SVG scales to its
box in CSS), the text each bar carries, the link to the deals behind it, and a sentence that
says what the chart shows for a screen reader (the SVG's ``<desc>``). The table beside each
chart holds the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

WIDTH = 600
ROW = 30
LABEL = 180
VALUE_TEXT = 120


@dataclass(frozen=True)
class ChartBar:
    label: str
    text: str
    x: float
    y: float
    width: float
    height: float
    css: str
    href: str | None
    label_y: float


@dataclass(frozen=True)
class Chart:
    title: str
    description: str
    height: int
    bars: list[ChartBar]
    width: int = WIDTH
    label_width: int = LABEL

    @property
    def text_x(self) -> int:
        return self.width - VALUE_TEXT + 6


def bar_chart(title: str, rows: list[tuple[str, float | None, str, str | None]]) -> Chart:
    """Horizontal bars from 0: ``rows`` of ``(label, value, text, href)``; a missing value
    draws no bar but keeps its row and its text (``too few deals``)."""
    top = max((v for _, v, _, _ in rows if v is not None), default=0.0) or 1.0
    span = WIDTH - LABEL - VALUE_TEXT
    bars = []
    for i, (label, value, text, href) in enumerate(rows):
        y = i * ROW + 4
        width = 0.0 if value is None else max(0.0, value) / top * span
        bars.append(ChartBar(label, text, LABEL, y, width, ROW - 8, "bar", href, y + ROW / 2))
    description = "; ".join(f"{label}: {text}" for label, _, text, _ in rows)
    return Chart(title, description, max(1, len(rows)) * ROW + 4, bars)


def waterfall_chart(title: str, rows: list[tuple[str, str, Decimal, str, str | None]]) -> Chart:
    """Floating bars: ``rows`` of ``(key, label, amount, text, href)``; the first and last rows
    are totals (from 0), the others change the running total by their signed amount."""
    totals: list[tuple[float, float]] = []
    running = 0.0
    for i, (_, _, amount, _, _) in enumerate(rows):
        value = float(amount)
        if i == 0 or i == len(rows) - 1:
            totals.append((0.0, value))
            running = value
        else:
            totals.append((running, running + value))
            running += value
    low = min([0.0, *(min(a, b) for a, b in totals)])
    high = max([0.0, *(max(a, b) for a, b in totals)]) or 1.0
    span = WIDTH - LABEL - VALUE_TEXT
    scale = span / ((high - low) or 1.0)
    bars = []
    for i, ((key, label, amount, text, href), (a, b)) in enumerate(zip(rows, totals, strict=True)):
        y = i * ROW + 4
        x = LABEL + (min(a, b) - low) * scale
        width = max(1.0, abs(b - a) * scale) if amount else 0.0
        css = "total" if i in (0, len(rows) - 1) else ("up" if amount > 0 else "down")
        bars.append(
            ChartBar(label, text, x, y, width, ROW - 8, f"bar {css} {key}", href, y + ROW / 2)
        )
    description = "; ".join(f"{label}: {text}" for _, label, _, text, _ in rows)
    return Chart(title, description, max(1, len(rows)) * ROW + 4, bars)


def as_float(value: Any) -> float | None:
    return None if value is None else float(value)
