"""The draft agenda of a 1:1: the deals to coach, the skills to work on, what is still open.

Pure decisions over plain facts the caller fetched (inspection results, skill gaps, open action
items); the draft is frozen into agenda items by the coaching services, and the manager edits it
before the session. Nothing here reads the database or knows who may see what.

Deal ranking: ``priority = amount x (risk / 100) x closeness``, highest first, ties broken by
the lower opportunity id (stable, so two drafts of the same facts agree). Closeness says how
much the deal matters *for this period*:

- close date on or before ``period_end`` (overdue included): 1.0;
- after ``period_end``: ``0.5 ** (days_after / 30)``, halving for every 30 days beyond the
  period (a deal closing 30 days after the period weighs half, 60 days a quarter);
- no close date: :data:`NO_CLOSE_DATE_CLOSENESS` (as if 60 days after the period).

A deal with nothing unverified and no signal has nothing to coach and is left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from milepost.engine.skill_gaps import SkillGap

HALF_LIFE_DAYS = 30
NO_CLOSE_DATE_CLOSENESS = 0.25
MAX_QUESTIONS = 3


@dataclass(frozen=True, slots=True)
class DealFacts:
    """What the agenda needs to know about one open deal of the rep."""

    opportunity_id: int
    name: str
    amount: Decimal
    risk: int  # 0-100, from inspection
    close_date: date | None
    stage_key: str
    stage_label: str
    unverified: tuple[str, ...] = ()  # statements of exit criteria not met
    signals: tuple[str, ...] = ()  # signal reasons ("close date pushed 3 times ...")
    questions: tuple[str, ...] = ()  # the methodology's coaching questions for that stage

    def __post_init__(self) -> None:
        if not 0 <= self.risk <= 100:
            raise ValueError(f"risk is 0-100, got {self.risk}")


@dataclass(frozen=True, slots=True)
class OpenAction:
    """An action item still open from an earlier session."""

    action_id: int
    title: str
    owner_id: int
    due_date: date | None
    opportunity_id: int | None = None
    competency: str = ""


@dataclass(frozen=True, slots=True)
class DealItem:
    opportunity_id: int
    title: str
    priority: float
    reasons: tuple[str, ...]  # unverified criteria first, then signal reasons
    questions: tuple[str, ...]
    stage_key: str = ""
    stage_label: str = ""
    amount: Decimal = Decimal(0)
    risk: int = 0
    close_date: date | None = None
    closeness: float = 1.0
    unverified: tuple[str, ...] = ()
    signals: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SkillItem:
    indicator: str
    title: str
    competencies: tuple[str, ...]
    focus: str
    rep_rate: float
    team_rate: float
    rep_hits: int
    rep_deals: int
    team_hits: int
    team_deals: int
    z: float
    example_deal_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class CarryItem:
    action_id: int
    title: str
    overdue: bool
    days_overdue: int  # 0 unless overdue
    due_date: date | None = None
    owner_id: int | None = None
    opportunity_id: int | None = None
    competency: str = ""


@dataclass(frozen=True, slots=True)
class AgendaDraft:
    deal_items: list[DealItem] = field(default_factory=list)
    skill_items: list[SkillItem] = field(default_factory=list)
    carry_over: list[CarryItem] = field(default_factory=list)


def closeness(close_date: date | None, period_end: date) -> float:
    """1.0 up to the period's end, halving every :data:`HALF_LIFE_DAYS` after it."""
    if close_date is None:
        return NO_CLOSE_DATE_CLOSENESS
    days_after = (close_date - period_end).days
    if days_after <= 0:
        return 1.0
    return float(0.5 ** (days_after / HALF_LIFE_DAYS))


def deal_priority(deal: DealFacts, period_end: date) -> float:
    """amount x (risk / 100) x closeness."""
    return float(deal.amount) * (deal.risk / 100) * closeness(deal.close_date, period_end)


def draft_agenda(
    *,
    deals: Sequence[DealFacts],
    gaps: Sequence[SkillGap],
    open_actions: Sequence[OpenAction],
    today: date,
    period_end: date,
    max_deals: int = 5,
    max_skills: int = 2,
) -> AgendaDraft:
    """Draft the 1:1 agenda for one rep (``gaps`` and ``open_actions`` already the rep's)."""
    return AgendaDraft(
        deal_items=rank_deals(deals, period_end=period_end, limit=max_deals),
        skill_items=pick_skills(gaps, limit=max_skills),
        carry_over=carry_over(open_actions, today=today),
    )


def rank_deals(deals: Sequence[DealFacts], *, period_end: date, limit: int) -> list[DealItem]:
    """The deals most worth coaching, highest priority first (see the module docstring)."""
    candidates = [d for d in deals if d.unverified or d.signals]
    ranked = sorted(candidates, key=lambda d: (-deal_priority(d, period_end), d.opportunity_id))
    return [_deal_item(d, period_end) for d in ranked[: max(limit, 0)]]


def _deal_item(deal: DealFacts, period_end: date) -> DealItem:
    return DealItem(
        opportunity_id=deal.opportunity_id,
        title=deal.name,
        priority=deal_priority(deal, period_end),
        reasons=deal.unverified + deal.signals,
        questions=_questions(deal.questions),
        stage_key=deal.stage_key,
        stage_label=deal.stage_label,
        amount=deal.amount,
        risk=deal.risk,
        close_date=deal.close_date,
        closeness=closeness(deal.close_date, period_end),
        unverified=deal.unverified,
        signals=deal.signals,
    )


def _questions(questions: Sequence[str]) -> tuple[str, ...]:
    """The given questions, blanks dropped, first occurrence kept, at most MAX_QUESTIONS."""
    out: list[str] = []
    seen: set[str] = set()
    for question in questions:
        text = question.strip()
        if text and text.casefold() not in seen:
            seen.add(text.casefold())
            out.append(text)
    return tuple(out[:MAX_QUESTIONS])


def pick_skills(gaps: Sequence[SkillGap], *, limit: int) -> list[SkillItem]:
    """The strongest gaps (highest z first), skipping one whose competencies are all covered
    by a gap already picked: two items on the same skill waste the 1:1."""
    ordered = sorted(gaps, key=lambda g: (-g.z, g.indicator, g.rep_id))
    picked: list[SkillItem] = []
    covered: set[str] = set()
    for gap in ordered:
        if len(picked) >= limit:
            break
        if gap.competencies and set(gap.competencies) <= covered:
            continue
        covered.update(gap.competencies)
        picked.append(
            SkillItem(
                indicator=gap.indicator,
                title=gap.label,
                competencies=gap.competencies,
                focus=gap.focus,
                rep_rate=gap.rep_rate,
                team_rate=gap.team_rate,
                rep_hits=gap.rep_hits,
                rep_deals=gap.rep_deals,
                team_hits=gap.team_hits,
                team_deals=gap.team_deals,
                z=gap.z,
                example_deal_ids=gap.example_deal_ids,
            )
        )
    return picked


def carry_over(actions: Sequence[OpenAction], *, today: date) -> list[CarryItem]:
    """Every open action: overdue first, then by due date (undated last), then by id."""
    items = [_carry_item(a, today) for a in actions]
    return sorted(
        items,
        key=lambda c: (
            not c.overdue,
            c.due_date is None,
            c.due_date or date.max,
            c.action_id,
        ),
    )


def _carry_item(action: OpenAction, today: date) -> CarryItem:
    late = (today - action.due_date).days if action.due_date is not None else 0
    return CarryItem(
        action_id=action.action_id,
        title=action.title,
        overdue=late > 0,
        days_overdue=max(late, 0),
        due_date=action.due_date,
        owner_id=action.owner_id,
        opportunity_id=action.opportunity_id,
        competency=action.competency,
    )
