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
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from milepost.core import formatting
from milepost.engine.stage_time import days_in_stage as engine_days_in_stage
from milepost.pipeline import selectors
from milepost.pipeline.models import Activity, Opportunity, OpportunityContact, StageTransition
from milepost.process.models import ExitCriterion, Stage, StageKind
from milepost.process.selectors import version_stages
from milepost.team.models import User

CARDS_PER_COLUMN = 20  # first page of each board column; "Show more" loads the next ones
MAX_BOARD_OFFSET = 10_000  # deeper than anyone scrolls a column; the table is for that


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
    """One deal as the opportunity page shows it (the board has the leaner :class:`BoardCard`)."""

    opp: Opportunity
    amount: str
    days_in_stage: int
    overdue: bool
    over_max: bool
    options: list[MoveOption]
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
        options=move_options(opp, stages),
        close_iso=opp.close_date.isoformat(),
        close_display=format_date(opp.close_date),
        detail_url=reverse("pipeline:detail", args=[opp.pk]),
        move_url=reverse("pipeline:move", args=[opp.pk]),
    )


@dataclass
class BoardCard:
    """One deal on the board: what fits on a small card, from one plain row
    (:data:`milepost.pipeline.selectors.BOARD_CARD_FIELDS`), nothing that costs a query.

    ``under_control`` is filled in only where the caller knows it (a moved card): control is
    inspection's, a layer above, and the board loads the dots of its visible cards in one
    request after the cards. ``None`` means not known yet.
    """

    pk: int
    name: str
    version: int
    amount: Decimal
    currency: str
    close_date: date
    account_name: str | None
    stage_key: str
    owner_name: str
    owner_initials: str
    overdue: bool
    detail_url: str
    move_url: str
    under_control: bool | None = None
    control_label: str = ""

    @property
    def html(self) -> str:
        """The card's ``<li>``, built in Python: a board renders over a hundred cards and the
        template engine was most of the page's time (the card partial only includes this)."""
        detail = self.detail_url
        if self.under_control is None:
            dot = format_html(
                '<span id="ctl-{}" class="control-dot is-unknown" role="img" '
                'aria-label="Control not checked yet"></span>',
                self.pk,
            )
        else:
            dot = format_html(
                '<span id="ctl-{}" class="control-dot {}" role="img" aria-label="{}" '
                'title="{}"></span>',
                self.pk,
                "is-ok" if self.under_control else "is-gap",
                self.control_label,
                self.control_label,
            )
        return format_html(
            '<li class="deal-card{}" id="deal-{}" data-version="{}" data-stage="{}" '
            'data-close="{}" data-amount="{}" data-currency="{}" data-move-url="{}">'
            '<h3 class="deal-name"><a href="{}">{}</a></h3>'
            '<p class="deal-account">{}</p>'
            '<p class="deal-line"><span class="deal-amount">{}</span> · '
            '<time datetime="{}">{}</time>{}</p>'
            '<p class="deal-foot"><abbr class="owner-initials" title="{}">{}</abbr>{}'
            '<a class="move-link" href="{}#move-title" aria-haspopup="dialog" '
            'aria-label="Move {}">Move…</a></p></li>',
            " is-overdue" if self.overdue else "",
            self.pk,
            self.version,
            self.stage_key,
            self.close_date.isoformat(),
            str(self.amount),
            self.currency,
            self.move_url,
            detail,
            self.name,
            self.account_name or "No account",
            format_money(self.amount, self.currency),
            self.close_date.isoformat(),
            format_date(self.close_date),
            mark_safe(' <span class="badge badge-danger">overdue</span>') if self.overdue else "",
            self.owner_name,
            self.owner_initials,
            dot,
            detail,
            self.name,
        )


def initials(first: str, last: str, username: str) -> str:
    """``DS`` for Darcel Schlecht; the username's first letters when the name is blank."""
    parts = [p for p in (first, last) if p]
    return ("".join(p[0] for p in parts) if parts else username[:2]).upper()


@dataclass(frozen=True)
class CardUrls:
    """The detail and move URLs of any deal, reversed once per page instead of twice per card
    (``reverse`` was a fifth of the board's time)."""

    detail: str
    move: str

    @classmethod
    def current(cls) -> CardUrls:
        return cls(
            reverse("pipeline:detail", args=[_URL_MARK]), reverse("pipeline:move", args=[_URL_MARK])
        )

    def of(self, pattern: str, pk: int) -> str:
        return pattern.replace(f"/{_URL_MARK}/", f"/{pk}/")


_URL_MARK = 987654321


def board_card(
    row: dict[str, Any], on: date | None = None, urls: CardUrls | None = None
) -> BoardCard:
    """A card from a :data:`~milepost.pipeline.selectors.BOARD_CARD_FIELDS` row."""
    urls = urls or CardUrls.current()
    first, last, username = (
        row["owner__first_name"],
        row["owner__last_name"],
        row["owner__username"],
    )
    return BoardCard(
        pk=row["id"],
        name=row["name"],
        version=row["version"],
        amount=row["amount"],
        currency=row["currency"],
        close_date=row["close_date"],
        account_name=row["account__name"],
        stage_key=row["stage__key"],
        owner_name=f"{first} {last}".strip() or username,
        owner_initials=initials(first, last, username),
        overdue=row["stage__kind"] == StageKind.OPEN and row["close_date"] < (on or today()),
        detail_url=urls.of(urls.detail, row["id"]),
        move_url=urls.of(urls.move, row["id"]),
    )


def board_card_for(*, user: User, opportunity_id: int) -> BoardCard:
    """The card of one deal the user may see (NotFound otherwise)."""
    return board_card(selectors.opportunity_board_card(user=user, opportunity_id=opportunity_id))


@dataclass(frozen=True)
class BoardColumn:
    stage: Stage
    count: int
    total: str
    totals_json: str
    cards: list[BoardCard]
    next_offset: int | None  # where the column's "Show more" starts; None when all are shown

    @property
    def remaining(self) -> int:
        return self.count - self.next_offset if self.next_offset is not None else 0


def board_columns(
    *, user: User, filters: selectors.OpportunityFilters | None, stages: list[Stage]
) -> tuple[list[BoardColumn], list[Stage]]:
    """Open columns with their first cards, and the closed (won / lost) stages used as drop
    targets."""
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
    on = today()
    urls = CardUrls.current()
    columns = []
    for stage in open_stages:
        col = data[stage.key]
        shown = len(col.rows)
        columns.append(
            BoardColumn(
                stage=stage,
                count=col.count,
                total=format_totals(col.totals),
                totals_json=json.dumps({c: str(v) for c, v in col.totals.items()}),
                cards=[board_card(o, on, urls) for o in col.rows],
                next_offset=shown if col.count > shown else None,
            )
        )
    return columns, closed


@dataclass(frozen=True)
class ColumnPage:
    """The next cards of one board column, for its "Show more" button."""

    stage: Stage
    cards: list[BoardCard]
    next_offset: int | None


def board_column_page(
    *,
    user: User,
    filters: selectors.OpportunityFilters | None,
    stage: Stage,
    offset: int,
) -> ColumnPage:
    """Cards ``offset`` .. ``offset + CARDS_PER_COLUMN`` of a column (an offset past the end
    gives no cards)."""
    if filters is None:
        return ColumnPage(stage, [], None)
    rows, more = selectors.opportunity_board_page(
        user=user, filters=filters, stage_key=stage.key, offset=offset, limit=CARDS_PER_COLUMN
    )
    on, urls = today(), CardUrls.current()
    return ColumnPage(
        stage=stage,
        cards=[board_card(o, on, urls) for o in rows],
        next_offset=offset + len(rows) if more else None,
    )


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
    """The filtered table as CSV rows (header first), as typed values: the writer
    (:func:`milepost.core.exports.csv_response`) neutralises formulas in every cell."""
    yield CSV_HEADER
    at = timezone.now()
    for o in opportunities:
        yield [
            o.pk,
            o.name,
            o.account.name if o.account else "",
            str(o.owner),
            o.stage.version.process.key,
            o.stage.label,
            o.amount,
            o.currency,
            o.close_date.isoformat(),
            days_in_stage(o, at),
            o.probability,
            o.get_forecast_category_display(),
            o.next_step,
        ]
