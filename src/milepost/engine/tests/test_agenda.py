"""The 1:1 agenda draft: the deals most worth coaching first, the strongest skill gaps, and every
open action with the overdue ones on top."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from milepost.engine.agenda import (
    NO_CLOSE_DATE_CLOSENESS,
    DealFacts,
    OpenAction,
    closeness,
    deal_priority,
    draft_agenda,
)
from milepost.engine.skill_gaps import SkillGap

TODAY = date(2026, 6, 10)
PERIOD_END = date(2026, 6, 30)


def deal(opportunity_id: int, **overrides: Any) -> DealFacts:
    values: dict[str, Any] = {
        "opportunity_id": opportunity_id,
        "name": f"Deal {opportunity_id}",
        "amount": Decimal("10000"),
        "risk": 50,
        "close_date": PERIOD_END,
        "stage_key": "evaluate",
        "stage_label": "Evaluate solution",
        "unverified": ("The economic buyer confirmed solving this problem is a priority",),
        "signals": (),
        "questions": (),
    }
    values.update(overrides)
    return DealFacts(**values)


def gap(indicator: str, z: float, competencies: tuple[str, ...]) -> SkillGap:
    return SkillGap(
        rep_id=1,
        indicator=indicator,
        label=indicator.replace("_", " "),
        competencies=competencies,
        focus="focus",
        rep_hits=4,
        rep_deals=5,
        rep_rate=0.8,
        team_hits=5,
        team_deals=15,
        team_rate=1 / 3,
        z=z,
        example_deal_ids=(1, 2),
    )


def action(action_id: int, due: date | None, **overrides: Any) -> OpenAction:
    values: dict[str, Any] = {
        "action_id": action_id,
        "title": f"Action {action_id}",
        "owner_id": 1,
        "due_date": due,
    }
    values.update(overrides)
    return OpenAction(**values)


def agenda(**kwargs: Any) -> Any:
    args: dict[str, Any] = {
        "deals": [],
        "gaps": [],
        "open_actions": [],
        "today": TODAY,
        "period_end": PERIOD_END,
    }
    args.update(kwargs)
    return draft_agenda(**args)


# --- closeness and priority --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("close_date", "expected"),
    [
        (PERIOD_END, 1.0),
        (PERIOD_END - timedelta(days=10), 1.0),
        (TODAY - timedelta(days=40), 1.0),  # overdue still belongs to this period
        (PERIOD_END + timedelta(days=30), 0.5),
        (PERIOD_END + timedelta(days=60), 0.25),
        (PERIOD_END + timedelta(days=15), 0.5**0.5),
        (None, NO_CLOSE_DATE_CLOSENESS),
    ],
)
def test_closeness(close_date: date | None, expected: float) -> None:
    assert closeness(close_date, PERIOD_END) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("amount", "risk", "close_date", "expected"),
    [
        ("10000", 50, PERIOD_END, 5000.0),
        ("10000", 100, PERIOD_END + timedelta(days=30), 5000.0),
        ("20000", 25, PERIOD_END, 5000.0),
        ("10000", 0, PERIOD_END, 0.0),
        ("0", 80, PERIOD_END, 0.0),
        ("8000", 50, None, 1000.0),
    ],
)
def test_priority_is_amount_times_risk_times_closeness(
    amount: str, risk: int, close_date: date | None, expected: float
) -> None:
    facts = deal(1, amount=Decimal(amount), risk=risk, close_date=close_date)
    assert deal_priority(facts, PERIOD_END) == pytest.approx(expected)


def test_risk_outside_0_100_is_refused() -> None:
    with pytest.raises(ValueError, match="risk"):
        deal(1, risk=120)


# --- deal items --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "deals", "max_deals", "expected_ids"),
    [
        (
            "highest priority first",
            [
                deal(1, amount=Decimal("5000")),
                deal(2, amount=Decimal("50000")),
                deal(3, amount=Decimal("20000")),
            ],
            5,
            [2, 3, 1],
        ),
        (
            "a big deal closing far beyond the period ranks below a smaller one inside it",
            [
                deal(1, amount=Decimal("40000"), close_date=PERIOD_END + timedelta(days=90)),
                deal(2, amount=Decimal("10000")),
            ],
            5,
            [2, 1],
        ),
        (
            "risk weighs in",
            [deal(1, risk=90), deal(2, risk=10, amount=Decimal("50000"))],
            5,
            [1, 2],
        ),
        (
            "ties broken by the lower opportunity id",
            [deal(7), deal(3), deal(5)],
            5,
            [3, 5, 7],
        ),
        (
            "nothing unverified and no signal: nothing to coach",
            [deal(1, unverified=()), deal(2, unverified=(), signals=("No next step",))],
            5,
            [2],
        ),
        (
            "limited to max_deals",
            [deal(i, amount=Decimal(1000 * i)) for i in range(1, 9)],
            3,
            [8, 7, 6],
        ),
        ("max_deals 0", [deal(1)], 0, []),
    ],
)
def test_deal_ranking(
    case: str, deals: list[DealFacts], max_deals: int, expected_ids: list[int]
) -> None:
    draft = agenda(deals=deals, max_deals=max_deals)
    assert [item.opportunity_id for item in draft.deal_items] == expected_ids, case


def test_a_deal_item_carries_reasons_questions_and_priority() -> None:
    facts = deal(
        4,
        amount=Decimal("30000"),
        risk=40,
        unverified=("Economic buyer engaged", "Decision process shared"),
        signals=("No next step",),
        questions=(
            "Who signs, and when did you last speak with them?",
            "  ",
            "Who signs, and when did you last speak with them?",
            "How will they decide?",
            "What happens if they do nothing?",
            "A fourth distinct question",
        ),
    )
    [item] = agenda(deals=[facts]).deal_items
    assert item.title == "Deal 4"
    assert item.priority == pytest.approx(30000 * 0.4)
    assert item.reasons == ("Economic buyer engaged", "Decision process shared", "No next step")
    # Blank and repeated questions dropped, at most three, in the methodology's order.
    assert item.questions == (
        "Who signs, and when did you last speak with them?",
        "How will they decide?",
        "What happens if they do nothing?",
    )
    assert item.stage_label == "Evaluate solution"


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 100_000),
            st.integers(0, 100),
            st.one_of(st.none(), st.integers(-60, 120)),
        ),
        max_size=12,
    ),
    st.randoms(),
)
def test_ranking_is_sorted_and_independent_of_input_order(
    rows: list[tuple[int, int, int | None]], rnd: Any
) -> None:
    deals = [
        deal(
            n,
            amount=Decimal(amount),
            risk=risk,
            close_date=None if offset is None else PERIOD_END + timedelta(days=offset),
        )
        for n, (amount, risk, offset) in enumerate(rows, start=1)
    ]
    first = agenda(deals=deals, max_deals=20).deal_items
    shuffled = list(deals)
    rnd.shuffle(shuffled)
    assert agenda(deals=shuffled, max_deals=20).deal_items == first
    keys = [(-i.priority, i.opportunity_id) for i in first]
    assert keys == sorted(keys)
    assert len(first) == len(deals)


# --- skill items -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gaps", "max_skills", "expected"),
    [
        (
            [gap("a", 2.0, ("call_planning",)), gap("b", 3.0, ("business_acumen",))],
            2,
            ["b", "a"],
        ),
        (
            [
                gap("a", 2.0, ("call_planning",)),
                gap("b", 3.0, ("business_acumen",)),
                gap("c", 2.5, ("probing_questions",)),
            ],
            2,
            ["b", "c"],
        ),
        # A second gap on a skill already on the agenda makes room for another skill.
        (
            [
                gap("eb_missing", 3.0, ("business_acumen",)),
                gap("single_threaded", 2.8, ("business_acumen",)),
                gap("no_next", 2.0, ("call_planning",)),
            ],
            2,
            ["eb_missing", "no_next"],
        ),
        # Partly new competencies still count as a new item.
        (
            [
                gap("a", 3.0, ("business_acumen",)),
                gap("b", 2.0, ("business_acumen", "call_planning")),
            ],
            2,
            ["a", "b"],
        ),
        ([gap("a", 3.0, ("business_acumen",))], 0, []),
        ([], 2, []),
    ],
)
def test_skill_items(gaps: list[SkillGap], max_skills: int, expected: list[str]) -> None:
    items = agenda(gaps=gaps, max_skills=max_skills).skill_items
    assert [i.indicator for i in items] == expected


def test_a_skill_item_keeps_the_numbers_behind_it() -> None:
    [item] = agenda(gaps=[gap("eb_missing", 2.7, ("business_acumen",))]).skill_items
    assert item.title == "eb missing"
    assert item.competencies == ("business_acumen",)
    assert (item.rep_hits, item.rep_deals, item.team_hits, item.team_deals) == (4, 5, 5, 15)
    assert item.example_deal_ids == (1, 2)


# --- carry-over --------------------------------------------------------------------------------


def test_carry_over_lists_every_open_action_overdue_first() -> None:
    actions = [
        action(1, TODAY + timedelta(days=5)),
        action(2, TODAY - timedelta(days=2)),
        action(3, None),
        action(4, TODAY),  # due today: not overdue yet
        action(5, TODAY - timedelta(days=9)),
        action(6, TODAY + timedelta(days=1)),
        action(7, TODAY - timedelta(days=2)),
    ]
    carry = agenda(open_actions=actions).carry_over
    assert [(c.action_id, c.overdue, c.days_overdue) for c in carry] == [
        (5, True, 9),
        (2, True, 2),
        (7, True, 2),
        (4, False, 0),
        (6, False, 0),
        (1, False, 0),
        (3, False, 0),
    ]


def test_overdue_is_computed_against_today() -> None:
    actions = [action(1, date(2026, 6, 1))]
    assert agenda(open_actions=actions, today=date(2026, 6, 1)).carry_over[0].overdue is False
    later = agenda(open_actions=actions, today=date(2026, 6, 4)).carry_over[0]
    assert (later.overdue, later.days_overdue) == (True, 3)


def test_carry_over_keeps_the_links() -> None:
    a = action(9, TODAY, opportunity_id=42, competency="call_planning", owner_id=7)
    [item] = agenda(open_actions=[a]).carry_over
    assert (item.opportunity_id, item.competency, item.owner_id, item.due_date) == (
        42,
        "call_planning",
        7,
        TODAY,
    )
