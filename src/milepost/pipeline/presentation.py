"""What the pipeline pages display, computed from what the selectors return.

Plain data for templates: formatted money, days in stage, overdue and over-max flags, board
columns, the stage path of a deal. Templates only lay these out; nothing here writes or decides
who may see what (the selectors already did).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from milepost.core import formatting
from milepost.engine.stage_time import days_in_stage as engine_days_in_stage
from milepost.pipeline import selectors
from milepost.pipeline.models import Activity, Opportunity, OpportunityContact, StageTransition
from milepost.process.models import ExitCriterion, Stage, StageKind
from milepost.process.selectors import version_stages
from milepost.team.models import User

CARDS_PER_COLUMN = 50


# --- formatting -------------------------------------------------------------------------------


def format_money(amount: Decimal | int | float | None, currency: str = "USD") -> str:
    """``$12,345`` in the deal's currency (core.formatting.money; kept for the callers here)."""
    return formatting.money(amount, currency)


def format_date(d: date) -> str:
    """The short (table) date, ``Nov 3, 2026`` in English (core.formatting.date_short)."""
    return formatting.date_short(d)


def format_totals(totals: dict[str, Decimal]) -> str:
    return formatting.money_totals(totals)


def today() -> date:
    return timezone.localdate()


def days_in_stage(opp: Opportunity, at: datetime | None = None) -> int:
    """Whole days since the deal entered its current stage: the engine's one definition, the
    number the inspection signals and the 1:1 agenda show too."""
    return engine_days_in_stage(opp.stage_entered_at, at or timezone.now())


def is_overdue(opp: Opportunity, on: date | None = None) -> bool:
    """An open deal whose close date has passed."""
    return opp.stage.kind == StageKind.OPEN and opp.close_date < (on or today())


def is_over_max(opp: Opportunity, at: datetime | None = None) -> bool:
    """An open deal that stayed longer than its stage's ``max_days``."""
    max_days = opp.stage.max_days
    return (
        opp.stage.kind == StageKind.OPEN
        and max_days is not None
        and days_in_stage(opp, at) > max_days
    )


# --- close periods ----------------------------------------------------------------------------

PERIOD_CHOICES = [
    ("", "Any close date"),
    ("overdue", "Overdue"),
    ("this_month", "This month"),
    ("next_month", "Next month"),
    ("this_quarter", "This quarter"),
    ("next_quarter", "Next quarter"),
    ("next_90", "Next 90 days"),
]


def _month_start(d: date, months_ahead: int = 0) -> date:
    index = d.year * 12 + (d.month - 1) + months_ahead
    return date(index // 12, index % 12 + 1, 1)


def period_range(key: str, on: date | None = None) -> tuple[date | None, date | None]:
    """Close-date bounds (inclusive) for a named period; ``(None, None)`` for any."""
    d = on or today()
    if key == "overdue":
        return None, d - timedelta(days=1)
    if key in ("this_month", "next_month"):
        start = _month_start(d, 0 if key == "this_month" else 1)
        return start, _month_start(start, 1) - timedelta(days=1)
    if key in ("this_quarter", "next_quarter"):
        quarter_start = _month_start(date(d.year, (d.month - 1) // 3 * 3 + 1, 1))
        start = _month_start(quarter_start, 0 if key == "this_quarter" else 3)
        return start, _month_start(start, 3) - timedelta(days=1)
    if key == "next_90":
        return d, d + timedelta(days=90)
    return None, None


# --- board ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MoveOption:
    key: str
    label: str
    selected: bool


@dataclass(frozen=True)
class Card:
    """One deal on the board (or the row the move endpoint re-renders)."""

    opp: Opportunity
    amount: str
    days_in_stage: int
    overdue: bool
    over_max: bool
    options: list[MoveOption]
    options_html: str
    close_iso: str
    close_display: str
    detail_url: str
    move_url: str


def move_options(opp: Opportunity, stages: Iterable[Stage]) -> list[MoveOption]:
    """Every other stage of the process, the next one in order preselected."""
    others = [s for s in stages if s.key != opp.stage.key]
    following = [s for s in others if s.position > opp.stage.position]
    preselect = following[0].key if following else (others[0].key if others else "")
    return [MoveOption(s.key, s.label, s.key == preselect) for s in others]


def options_html(options: list[MoveOption]) -> str:
    """The ``<option>`` tags of a move menu, built once in Python: a board renders hundreds of
    menus and the template engine is the slow part of the page."""
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        ((o.key, mark_safe(" selected") if o.selected else "", o.label) for o in options),
    )


def card_for(
    opp: Opportunity,
    stages: Iterable[Stage],
    on: date | None = None,
    at: datetime | None = None,
) -> Card:
    return Card(
        opp=opp,
        amount=format_money(opp.amount, opp.currency),
        days_in_stage=days_in_stage(opp, at),
        overdue=is_overdue(opp, on),
        over_max=is_over_max(opp, at),
        options=(options := move_options(opp, stages)),
        options_html=options_html(options),
        close_iso=opp.close_date.isoformat(),
        close_display=format_date(opp.close_date),
        detail_url=reverse("pipeline:detail", args=[opp.pk]),
        move_url=reverse("pipeline:move", args=[opp.pk]),
    )


@dataclass(frozen=True)
class BoardColumn:
    stage: Stage
    count: int
    total: str
    totals_json: str
    cards: list[Card]
    more: int  # matching deals not shown as cards


def board_columns(
    *, user: User, filters: selectors.OpportunityFilters | None, stages: list[Stage]
) -> tuple[list[BoardColumn], list[Stage]]:
    """Open columns with cards, and the closed (won / lost) stages used as drop targets."""
    open_stages = [s for s in stages if s.kind == StageKind.OPEN]
    closed = [s for s in stages if s.kind != StageKind.OPEN]
    if filters is None:  # invalid filter input shows nothing rather than everything
        data: dict[str, selectors.BoardColumnData] = {
            s.key: selectors.BoardColumnData(s.key, 0, {}, []) for s in open_stages
        }
    else:
        data = selectors.opportunity_board(
            user=user,
            filters=filters,
            stage_keys=[s.key for s in open_stages],
            per_column=CARDS_PER_COLUMN,
        )
    on, at = today(), timezone.now()
    columns = []
    for stage in open_stages:
        col = data[stage.key]
        columns.append(
            BoardColumn(
                stage=stage,
                count=col.count,
                total=format_totals(col.totals),
                totals_json=json.dumps({c: str(v) for c, v in col.totals.items()}),
                cards=[card_for(o, stages, on, at) for o in col.opportunities],
                more=max(0, col.count - len(col.opportunities)),
            )
        )
    return columns, closed


# --- opportunity page -------------------------------------------------------------------------


@dataclass(frozen=True)
class PathStep:
    stage: Stage
    state: str  # passed / current / upcoming / skipped

    @property
    def state_label(self) -> str:
        return {
            "passed": "completed",
            "current": "current stage",
            "upcoming": "not reached",
            "skipped": "not reached",
        }[self.state]


@dataclass(frozen=True)
class HistoryRow:
    transition: StageTransition
    days_in_previous: float | None
    amount: str


@dataclass
class OpportunityPage:
    opp: Opportunity
    card: Card
    path: list[PathStep]
    current_stage: Stage
    criteria: list[ExitCriterion]
    contacts: list[OpportunityContact]
    activities: list[Activity]
    history: list[HistoryRow]
    stages: list[Stage] = field(default_factory=list)
    lost_stage_labels: str = ""


def stage_path(opp: Opportunity, stages: list[Stage], visited: set[int]) -> Iterator[PathStep]:
    current = opp.stage
    for stage in stages:
        if stage.pk == current.pk:
            state = "current"
        elif stage.kind != StageKind.OPEN:
            state = "skipped"
        elif current.kind == StageKind.OPEN:
            state = "passed" if stage.position < current.position else "upcoming"
        else:  # closed deal: the open stages it went through are passed
            state = "passed" if stage.pk in visited else "skipped"
        yield PathStep(stage, state)


def opportunity_page(*, user: User, opportunity_id: int) -> OpportunityPage:
    """Everything the opportunity page shows; raises NotFound when the deal is not visible."""
    opp = selectors.opportunity_get(user=user, opportunity_id=opportunity_id)
    stages = version_stages(version_id=opp.stage.version_id)
    by_id = {s.pk: s for s in stages}
    transitions = list(selectors.opportunity_transitions(opportunity=opp))
    visited = {t.to_stage_id for t in transitions} | {
        t.from_stage_id for t in transitions if t.from_stage_id
    }
    current = by_id.get(opp.stage_id, opp.stage)
    history = [
        HistoryRow(
            t,
            round(t.seconds_in_from_stage / 86400, 1)
            if t.seconds_in_from_stage is not None
            else None,
            format_money(t.amount, t.currency),
        )
        for t in reversed(transitions)
    ]
    return OpportunityPage(
        opp=opp,
        card=card_for(opp, stages),
        path=list(stage_path(opp, stages, visited)),
        current_stage=current,
        criteria=list(current.exit_criteria.all()),
        contacts=list(selectors.opportunity_contacts(opportunity=opp)),
        activities=list(selectors.opportunity_activities(opportunity=opp)),
        history=history,
        stages=stages,
        lost_stage_labels=" or ".join(s.label for s in stages if s.kind == StageKind.LOST),
    )


# --- table / CSV ------------------------------------------------------------------------------

CSV_HEADER = [
    "id",
    "name",
    "account",
    "owner",
    "process",
    "stage",
    "amount",
    "currency",
    "close_date",
    "days_in_stage",
    "probability",
    "forecast_category",
    "next_step",
]


def csv_rows(opportunities: Iterable[Opportunity]) -> Iterator[list[Any]]:
    """The filtered table as CSV rows (header first). Cells starting with = + - @ are quoted
    with a leading apostrophe so spreadsheets do not run them as formulas."""

    def safe(value: Any) -> Any:
        text = str(value)
        return "'" + text if text[:1] in ("=", "+", "-", "@") else value

    yield CSV_HEADER
    at = timezone.now()
    for o in opportunities:
        yield [
            o.pk,
            safe(o.name),
            safe(o.account.name if o.account else ""),
            safe(str(o.owner)),
            o.stage.version.process.key,
            o.stage.label,
            o.amount,
            o.currency,
            o.close_date.isoformat(),
            days_in_stage(o, at),
            o.probability,
            o.get_forecast_category_display(),
            safe(o.next_step),
        ]
