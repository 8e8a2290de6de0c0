"""Every analytics figure as a plain table: what the pages show beside each chart, what the
CSV and XLSX exports and the CLI write. One function per report, so the three never disagree.

Cells are plain values (int, Decimal, float, str, None); the page formats them, the exports
neutralise text through :func:`milepost.core.exports.safe_cell`. A ratio is written as its value
with its sample size and 95% interval; a ratio over too few deals has no value (the page says
"too few deals").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _

from milepost.analytics.effectiveness_text import VERDICTS, change_text, suggestion_text
from milepost.analytics.selectors import (
    ConversionReport,
    EffectivenessReport,
    VelocityReport,
    WaterfallReport,
)
from milepost.engine.conversion import Ratio
from milepost.engine.velocity import Spread

WATERFALL_LABELS = {
    "opening": _("Opening pipeline"),
    "created": _("Created"),
    "pulled_in": _("Pulled in"),
    "pushed_out": _("Pushed out"),
    "increased": _("Amount increased"),
    "decreased": _("Amount decreased"),
    "won": _("Won"),
    "lost": _("Lost"),
    "moved_out": _("Moved out of scope"),
    "closing": _("Closing pipeline"),
}


TOO_FEW = _("too few deals")
RATIO = ["share", "share", "share", "int"]
SPREAD = ["int", "days", "days", "days", "days"]


@dataclass
class Table:
    """A named table: ``header`` labels and ``rows`` of cells; ``keys`` (one per row) name the
    row (a stage key, a bar key). ``links`` maps a column to the figure its numbers open
    (:data:`milepost.analytics.selectors.FIGURES`): ``(figure, part)``, the part ``None`` for
    the row's key."""

    name: str
    title: Any
    header: list[Any]
    formats: list[str]  # per column: text, int, money, share, days, date, number
    links: dict[int, tuple[str, str | None]] = field(default_factory=dict)
    rows: list[list[Any]] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)

    def add(self, key: str, row: list[Any]) -> None:
        self.keys.append(key)
        self.rows.append(row)

    def lines(self) -> list[list[Any]]:
        """Header then rows, as an export writes them."""
        return [[str(h) for h in self.header], *self.rows]


def _ratio_cells(r: Ratio) -> list[Any]:
    value = _rate(r)
    low = None if r.too_few or r.low is None else round(r.low, 4)
    high = None if r.too_few or r.high is None else round(r.high, 4)
    return [value, low, high, r.n]


def _rate(r: Ratio) -> Any:
    """A ratio's value, or "too few deals" for a sample below the minimum (None for none)."""
    if r.n and r.too_few:
        return TOO_FEW
    return None if r.value is None else round(r.value, 4)


def _ratio_header(name: Any) -> list[Any]:
    return [name, _("%(name)s low (95%%)") % {"name": name}, _("high (95%)"), _("sample")]


def _days(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _spread_cells(s: Spread) -> list[Any]:
    return [s.n, _days(s.median), _days(s.p80), _days(s.p95), _days(s.mean)]


def conversion_tables(report: ConversionReport) -> list[Table]:
    stages = report.inputs.stages
    cohorts = Table(
        "cohorts",
        _("Conversion by cohort"),
        [
            _("Stage"),
            _("Entered"),
            _("Entered amount"),
            _("Advanced"),
            _("Won"),
            _("Won amount"),
            _("Lost"),
            _("Still open"),
            *_ratio_header(_("Advance rate")),
            *_ratio_header(_("Win rate")),
            _("Median days to advance"),
            _("Median days to win"),
        ],
        [
            "text",
            "int",
            "money",
            "int",
            "int",
            "money",
            "int",
            "int",
            *RATIO,
            *RATIO,
            "days",
            "days",
        ],
        {
            1: ("cohort", "entered"),
            3: ("cohort", "advanced"),
            4: ("cohort", "won"),
            6: ("cohort", "lost"),
            7: ("cohort", "open"),
        },
    )
    for c in report.cohorts:
        cohorts.add(
            c.stage,
            [
                stages.label(c.stage),
                c.entered,
                c.entered_amount,
                c.advanced,
                c.won,
                c.won_amount,
                c.lost,
                c.open,
                *_ratio_cells(c.advance_rate),
                *_ratio_cells(c.win_rate),
                _days(c.median_days_to_advance),
                _days(c.median_days_to_win),
            ],
        )
    funnel = Table(
        "funnel",
        _("Funnel from the first stage to won"),
        [
            _("Stage"),
            _("Deals"),
            _("Amount"),
            *_ratio_header(_("Share of created")),
            *_ratio_header(_("From previous step")),
            _("Amount share of created"),
        ],
        ["text", "int", "money", *RATIO, *RATIO, "share"],
        {1: ("funnel", "reached")},
    )
    for step in report.funnel:
        funnel.add(
            step.stage,
            [
                stages.label(step.stage),
                step.deals,
                step.amount,
                *_ratio_cells(step.of_created),
                *_ratio_cells(step.from_previous),
                None if step.amount_of_created is None else round(step.amount_of_created, 4),
            ],
        )
    rate = report.win_rate
    win = Table(
        "win_rate",
        _("Win rate of the deals closed in the period"),
        [
            _("Won"),
            _("Lost"),
            _("Won amount"),
            _("Lost amount"),
            *_ratio_header(_("Win rate by count")),
            _("Win rate by amount"),
        ],
        ["int", "int", "money", "money", *RATIO, "share"],
        {0: ("closed", "won"), 1: ("closed", "lost")},
    )
    win.add(
        "all",
        [
            rate.won,
            rate.lost,
            rate.won_amount,
            rate.lost_amount,
            *_ratio_cells(rate.by_count),
            None if rate.by_amount is None else round(rate.by_amount, 4),
        ],
    )
    leads = report.leads
    lead = Table(
        "leads",
        _("Lead to opportunity to won"),
        [
            _("Leads"),
            _("Converted"),
            _("Won"),
            *_ratio_header(_("Lead to opportunity")),
            *_ratio_header(_("Opportunity to won")),
            *_ratio_header(_("Lead to won")),
        ],
        ["int", "int", "int", *RATIO, *RATIO, *RATIO],
    )
    lead.add(
        "all",
        [
            leads.leads,
            leads.converted,
            leads.won,
            *_ratio_cells(leads.lead_to_opportunity),
            *_ratio_cells(leads.opportunity_to_won),
            *_ratio_cells(leads.lead_to_won),
        ],
    )
    return [cohorts, funnel, win, lead]


def velocity_tables(report: VelocityReport) -> list[Table]:
    stages = report.inputs.stages
    spread_header = [_("Visits"), _("Median days"), _("p80 days"), _("p95 days"), _("Mean days")]
    time = Table(
        "time_in_stage",
        _("Time in stage"),
        [_("Stage"), *spread_header],
        ["text", *SPREAD],
        {1: ("visits", "ended")},
    )
    for key, s in report.time_in_stage.items():
        time.add(key, [stages.label(key), *_spread_cells(s)])
    v = report.velocity
    factors = Table(
        "velocity",
        _("Sales velocity and its factors"),
        [
            _("Open deals at the end"),
            _("Win rate by count"),
            _("Closed deals"),
            _("Average won amount"),
            _("Average won cycle (days)"),
            _("Velocity per day"),
        ],
        ["int", "share", "int", "money", "days", "money"],
        {0: ("open", "open"), 2: ("closed", "all")},
    )
    factors.add("all", _velocity_cells(v))
    cycles = Table(
        "cycles",
        _("Sales cycle length"),
        [_("Outcome"), _("Deals"), *spread_header[1:]],
        ["text", *SPREAD],
        {1: ("closed", None)},
    )
    cycles.add("won", [_("Won"), *_spread_cells(v.won_cycle)])
    cycles.add("lost", [_("Lost"), *_spread_cells(v.lost_cycle)])
    trend = Table(
        "trend",
        _("Trend"),
        [_("From"), _("To"), *factors.header],
        ["date", "date", *factors.formats],
    )
    for bucket in report.trend:
        trend.add(
            bucket.start.date().isoformat(),
            [bucket.start.date(), bucket.end.date(), *_velocity_cells(bucket)],
        )
    return [time, cycles, factors, trend]


def _velocity_cells(v: Any) -> list[Any]:
    rate = v.win_rate.by_count
    return [
        v.open_deals,
        _rate(rate),
        rate.n,
        v.average_won_amount,
        _days(v.won_cycle.mean),
        None if v.per_day is None else round(v.per_day, 2),
    ]


def waterfall_tables(report: WaterfallReport) -> list[Table]:
    table = Table(
        "waterfall",
        _("Pipeline waterfall"),
        [_("Bar"), _("Deals"), _("Count change"), _("Amount change")],
        ["text", "int", "int", "money"],
        {1: ("waterfall", None)},
    )
    for bar in report.waterfall.bars:
        table.add(bar.key, [WATERFALL_LABELS[bar.key], bar.deals, bar.count, bar.amount])
    return [table]


# --- process effectiveness ------------------------------------------------------------------


def _pe_rate(r: Any, min_group: int) -> list[Any]:
    """A rate of the effectiveness engine (won of n, Wilson interval) as value, low, high, n;
    the value says "too few deals" below ``min_group``, like every ratio of these pages."""
    if r.n == 0:
        return [None, None, None, 0]
    if r.n < min_group:
        return [TOO_FEW, None, None, r.n]
    return [round(r.rate, 4), round(r.low, 4), round(r.high, 4), r.n]


def _pe_difference(c: Any) -> list[Any]:
    """Difference, its interval and verdict; "too few deals" instead of numbers below the
    minimum group (as the rates), the API keeps them."""
    if c.difference is None:
        return [None, None, None, VERDICTS[c.verdict]]
    if c.verdict == "too_few":
        return [TOO_FEW, None, None, VERDICTS[c.verdict]]
    return [round(c.difference, 4), round(c.low, 4), round(c.high, 4), VERDICTS[c.verdict]]


def _pe_header(name: Any) -> list[Any]:
    return [name, _("low (95%)"), _("high (95%)"), _("sample")]


def _share(part: int | None, whole: int | None) -> float | None:
    return None if part is None or not whole else round(part / whole, 4)


def effectiveness_tables(report: EffectivenessReport) -> list[Table]:
    """Per exit criterion, per stage, lost reasons by stage, and the ranked suggestions."""
    result = report.result
    labels = report.stages.labels
    statements: dict[str, str] = {}
    if report.frames.process is not None:
        statements = {
            c.id: c.statement for s in report.frames.process.open_stages for c in s.exit_criteria
        }
    criteria = Table(
        "criteria",
        _("Exit criteria: win rate with the criterion met at the exit and without"),
        [
            _("Stage"),
            _("Criterion"),
            _("Exits"),
            _("Met"),
            _("Not met"),
            _("Unrecorded"),
            *_pe_header(_("Win rate met")),
            *_pe_header(_("Win rate not met")),
            _("Difference"),
            _("low (95%)"),
            _("high (95%)"),
            _("Verdict"),
            _("Met late"),
            _("Met late share"),
            _("Waived"),
            _("Waived share"),
            _("Buyer-confirmed"),
            _("Buyer-confirmed share"),
            _("Open exits"),
        ],
        ["text", "text", "int", "int", "int", "int"]
        + ["share", "share", "share", "int"] * 2
        + ["points", "points", "points", "text", "int", "share", "int", "share", "int", "share"]
        + ["int"],
        links={
            2: ("criterion", "exits"),
            3: ("criterion", "met"),
            4: ("criterion", "unmet"),
            18: ("criterion", "late"),
            20: ("criterion", "waived"),
        },
    )
    stages = Table(
        "stages",
        _("Stages: where deals are lost, stall and are skipped"),
        [
            _("Stage"),
            _("Visitors"),
            _("Closed"),
            _("Won"),
            _("Lost here"),
            *_pe_header(_("Loss rate here")),
            _("Lost after"),
            *_pe_header(_("Loss rate after")),
            _("Completed visits"),
            _("Days in stage p50"),
            _("Days in stage p80"),
            _("Max days"),
            _("Visits over max days"),
            _("Open now"),
            _("Open over max days"),
            _("Skip transitions"),
            _("Skippers"),
            _("Skip share"),
            *_pe_header(_("Win rate of skippers")),
            *_pe_header(_("Win rate going through")),
            _("Difference"),
            _("low (95%)"),
            _("high (95%)"),
            _("Verdict"),
        ],
        ["text", "int", "int", "int", "int", "share", "share", "share", "int", "int"]
        + ["share", "share", "share", "int"]
        + ["int", "days", "days", "int", "int", "int", "int", "int", "int", "share"]
        + ["share", "share", "share", "int"] * 2
        + ["points", "points", "points", "text"],
        links={
            4: ("stage_health", "lost_here"),
            18: ("stage_health", "stalled"),
            22: ("stage_health", "skipped"),
        },
    )
    reasons = Table(
        "lost_reasons",
        _("Lost reasons of the deals lost in each stage"),
        [_("Stage"), _("Lost reason"), _("Deals")],
        ["text", "text", "int"],
    )
    suggestions = Table(
        "suggestions",
        _("Suggestions, most important first"),
        [
            _("Rank"),
            _("Suggestion"),
            _("Proposed change"),
            _("Evidence (0 to 1)"),
            _("Deals"),
            _("Amount"),
        ],
        ["int", "text", "text", "number", "int", "money"],
    )
    if result is None:
        return [suggestions, criteria, stages, reasons]
    min_group = result.settings.min_group
    for c in result.criteria:
        buyer = c.buyer_confirmed
        criteria.add(
            c.criterion,
            [
                labels.get(c.stage, c.stage),
                statements.get(c.criterion, c.criterion),
                c.exits,
                c.met,
                c.not_met,
                c.unrecorded,
                *_pe_rate(c.comparison.with_, min_group),
                *_pe_rate(c.comparison.without, min_group),
                *_pe_difference(c.comparison),
                c.met_late,
                _share(c.met_late, c.not_met),
                c.waived,
                _share(c.waived, c.exits),
                buyer,
                _share(buyer, c.exits),
                c.open_exits,
            ],
        )
    for s in result.stages:
        label = labels.get(s.stage, s.stage)
        stages.add(
            s.stage,
            [
                label,
                s.visitors,
                s.closed,
                s.won,
                s.lost_here,
                *_pe_rate(s.loss_here, min_group),
                s.lost_after,
                *_pe_rate(s.loss_after, min_group),
                s.completed_visits,
                s.days_p50,
                s.days_p80,
                s.max_days,
                s.over_max,
                s.open_now,
                s.open_over_max,
                s.skip_transitions,
                s.skippers,
                None if s.skip_share is None else round(s.skip_share, 4),
                *_pe_rate(s.skip_comparison.with_, min_group),
                *_pe_rate(s.skip_comparison.without, min_group),
                *_pe_difference(s.skip_comparison),
            ],
        )
        for reason, n in s.lost_reasons:
            reasons.add(s.stage, [label, reason or _("not given"), n])
    for rank, g in enumerate(result.suggestions, start=1):
        suggestions.add(
            g.kind,
            [
                rank,
                suggestion_text(g.kind, g.params),
                change_text(g.change.as_json(), labels),
                round(g.evidence, 3),
                g.affected_deals,
                Decimal(str(round(g.affected_amount, 2))),
            ],
        )
    return [suggestions, criteria, stages, reasons]
