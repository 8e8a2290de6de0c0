"""Input of the inspection page and API: which deals of an inspection to show, and how to count.

:class:`DealFilters` narrows the frames of an :class:`InspectionResult` with Polars expressions
(no loop per deal); :func:`signal_matrix` counts deals per signal per rep. The row-level rule is
already applied by :func:`milepost.inspection.pipeline.inspect_pipeline`, so filtering by a rep
the asker may not see simply finds nothing; the page's form goes further and refuses such a
choice (the rep picker only offers visible users), like the pipeline filters do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl
from django import forms

from milepost.engine.signals import SIGNAL_LABELS
from milepost.inspection.pipeline import InspectionResult
from milepost.pipeline.presentation import period_range
from milepost.team.models import User

PERIOD_CHOICES = [
    ("", "Any close date"),
    ("this_month", "This month"),
    ("this_quarter", "This quarter"),
    ("next_quarter", "Next quarter"),
    ("overdue", "Overdue"),
]
PERIODS = [key for key, _ in PERIOD_CHOICES if key]
# The first choice is the default: a manager opens the page to see the deals not under control.
CONTROL_CHOICES = [("no", "Not under control"), ("yes", "Under control"), ("all", "Any")]
CONTROLS = [key for key, _ in CONTROL_CHOICES]
# Deals snoozed as a whole: left out of "needs attention now" unless asked for.
SNOOZED_CHOICES = [("no", "Needs attention now"), ("yes", "Snoozed"), ("all", "Any")]
SIGNAL_CHOICES = list(SIGNAL_LABELS.items())


@dataclass(frozen=True)
class DealFilters:
    """What to keep of an inspection's deals; every field ``None`` / default keeps all."""

    owner_id: int | None = None
    stage_key: str | None = None
    signal: str | None = None
    close_from: date | None = None
    close_to: date | None = None
    control: str = "no"
    flagged: bool = False
    snoozed: str = "no"

    @classmethod
    def build(
        cls,
        *,
        owner_id: int | None = None,
        stage_key: str | None = None,
        signal: str | None = None,
        period: str | None = None,
        close_from: date | None = None,
        close_to: date | None = None,
        control: str | None = None,
        flagged: bool = False,
        snoozed: str | None = None,
    ) -> DealFilters:
        """Combine a named close period with explicit dates (both bounds apply)."""
        start, end = period_range(period or "")
        if close_from is not None:
            start = max(filter(None, [start, close_from]))
        if close_to is not None:
            end = min(filter(None, [end, close_to]))
        return cls(
            owner_id=owner_id,
            stage_key=stage_key or None,
            signal=signal or None,
            close_from=start,
            close_to=end,
            control=control or "no",
            flagged=flagged,
            snoozed=snoozed or "no",
        )

    def deals(self, result: InspectionResult, *, rep_and_signal: bool = True) -> pl.DataFrame:
        """The matching rows of ``result.deals``, still ranked by priority.

        ``rep_and_signal=False`` ignores the rep and signal filters: the set the signal x rep
        matrix counts, so that a click on a cell (which sets both) lists exactly that cell.
        """
        conditions: list[pl.Expr] = []
        if self.control == "no":
            conditions.append(~pl.col("under_control"))
        elif self.control == "yes":
            conditions.append(pl.col("under_control"))
        if self.flagged:
            conditions.append(pl.col("signal_count") > 0)
        if self.snoozed in ("no", "yes"):
            whole = result.snoozes.filter(pl.col("signal") == "")["opportunity_id"].implode()
            snoozed = pl.col("opportunity_id").is_in(whole)
            conditions.append(snoozed if self.snoozed == "yes" else ~snoozed)
        if self.stage_key:
            conditions.append(pl.col("stage_key") == self.stage_key)
        if self.close_from is not None:
            conditions.append(pl.col("close_date") >= self.close_from)
        if self.close_to is not None:
            conditions.append(pl.col("close_date") <= self.close_to)
        if rep_and_signal and self.owner_id is not None:
            conditions.append(pl.col("owner_id") == self.owner_id)
        if rep_and_signal and self.signal:
            with_signal = result.signals.filter(pl.col("signal") == self.signal)
            conditions.append(
                pl.col("opportunity_id").is_in(with_signal["opportunity_id"].implode())
            )
        return result.deals.filter(*conditions) if conditions else result.deals


def signal_matrix(result: InspectionResult, deals: pl.DataFrame) -> pl.DataFrame:
    """One row per owner of ``deals``: ``deals``, ``under_control``, ``not_under_control`` and
    one column per signal key (in :data:`SIGNAL_LABELS` order) counting the deals it fires on."""
    per_rep = deals.group_by("owner_id").agg(
        pl.len().cast(pl.Int64).alias("deals"),
        pl.col("under_control").sum().cast(pl.Int64).alias("under_control"),
    )
    counts = (
        result.signals.join(deals.select("opportunity_id", "owner_id"), on="opportunity_id")
        .group_by("owner_id")
        .agg(
            pl.col("opportunity_id")
            .filter(pl.col("signal") == key)
            .n_unique()
            .cast(pl.Int64)
            .alias(key)
            for key in SIGNAL_LABELS
        )
    )
    return (
        per_rep.join(counts, on="owner_id", how="left")
        .with_columns(
            pl.col(list(SIGNAL_LABELS)).fill_null(0),
            (pl.col("deals") - pl.col("under_control")).alias("not_under_control"),
        )
        .select("owner_id", "deals", "under_control", "not_under_control", *SIGNAL_LABELS)
    )


def signals_by_deal(result: InspectionResult, opportunity_ids: list[int]) -> dict[int, list]:
    """The signals of a few deals (one page), largest contribution to the risk first, with
    their labels."""
    rows = (
        result.signals.filter(pl.col("opportunity_id").is_in(opportunity_ids))
        .sort(["contribution", "weight", "signal"], descending=[True, True, False])
        .to_dicts()
    )
    grouped: dict[int, list[dict[str, Any]]] = {i: [] for i in opportunity_ids}
    for row in rows:
        row["label"] = SIGNAL_LABELS.get(row["signal"], row["signal"])
        grouped[row["opportunity_id"]].append(row)
    return grouped


class InspectionFilterForm(forms.Form):
    """The inspection page's filters. An invalid choice (a rep I may not see, an unknown
    signal) makes :meth:`to_filters` return ``None`` so the page shows nothing."""

    rep = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Rep")
    stage = forms.ChoiceField(required=False, label="Stage")
    signal = forms.ChoiceField(
        required=False, choices=[("", "Any signal"), *SIGNAL_CHOICES], label="Signal"
    )
    period = forms.ChoiceField(required=False, choices=PERIOD_CHOICES, label="Close period")
    close_from = forms.DateField(
        required=False, label="Close from", widget=forms.DateInput(attrs={"type": "date"})
    )
    close_to = forms.DateField(
        required=False, label="Close to", widget=forms.DateInput(attrs={"type": "date"})
    )
    control = forms.ChoiceField(required=False, choices=CONTROL_CHOICES, label="Under control")
    flagged = forms.BooleanField(required=False, label="Only deals with a signal")
    snoozed = forms.ChoiceField(required=False, choices=SNOOZED_CHOICES, label="Snoozed")

    def __init__(
        self,
        data: Any = None,
        *,
        users: list[User],
        stages: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(data, **kwargs)
        self.fields["rep"].choices = [("", "Anyone")] + [(str(u.pk), str(u)) for u in users]
        self.fields["stage"].choices = [("", "Any stage"), *stages]

    def to_filters(self) -> DealFilters | None:
        if not self.is_valid():
            return None
        data = self.cleaned_data
        return DealFilters.build(
            owner_id=data.get("rep"),
            stage_key=data.get("stage"),
            signal=data.get("signal"),
            period=data.get("period"),
            close_from=data.get("close_from"),
            close_to=data.get("close_to"),
            control=data.get("control"),
            flagged=bool(data.get("flagged")),
            snoozed=data.get("snoozed"),
        )
