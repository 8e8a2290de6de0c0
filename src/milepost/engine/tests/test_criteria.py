"""Rule evaluation for one opportunity: statuses, reasons and the verified stage."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from milepost.engine.criteria import (
    ActivityFact,
    OpportunitySnapshot,
    evaluate_criterion,
    evaluate_rule,
    verified_stage,
)
from milepost.engine.methodology_schema import element_scales, parse_methodology
from milepost.engine.process_schema import parse_process

AS_OF = datetime(2026, 3, 31, 15, 30, tzinfo=UTC)
NEW_BUSINESS = (
    Path(__file__).resolve().parents[2] / "process" / "defaults" / "new_business.yaml"
).read_text()


def days_ago(days: int, *, seconds: int = 0) -> datetime:
    return AS_OF - timedelta(days=days, seconds=seconds)


def act(kind: str, when: datetime, *contacts: int) -> ActivityFact:
    return ActivityFact(kind, when, tuple(contacts))


EMPTY = OpportunitySnapshot(id=1)
FULL = OpportunitySnapshot(
    id=2,
    amount=Decimal("5000.00"),
    close_date=date(2026, 4, 30),
    next_step="Send the proposal",
    next_step_date=date(2026, 4, 2),
    source="referral",
    probability=35,
    forecast_category="pipeline",
    account=7,
    product=3,
    lost_reason="  ",
    # (11, champion) twice: the same contact counts once.
    contact_roles=(
        (10, "economic_buyer"),
        (11, "champion"),
        (12, "champion"),
        (12, "coach"),
        (11, "champion"),
    ),
    activities=(
        act("demo", days_ago(41), 10, 11),
        act("demo", days_ago(90), 12),
        act("meeting", days_ago(30), 11),
        act("call", days_ago(45), 12),
        act("call", days_ago(0, seconds=-60), 13),  # a minute in the future: planned
        act("proposal_sent", days_ago(3)),
        act("proposal_sent", days_ago(10), 10),
    ),
)
# The largest amount the database holds: exact decimals matter here (floats would round).
BIG = OpportunitySnapshot(id=3, amount=Decimal("999999999999.99"), probability=0)
SNAPSHOTS = {"empty": EMPTY, "full": FULL, "big": BIG}

# (name, rule, snapshot, expected status, expected reason or None when not asserted)
CASES: list[tuple[str, dict[str, Any], str, str, str | None]] = [
    # field_set
    ("set text", {"field_set": "next_step"}, "full", "met", "the next step is filled in"),
    ("set empty text", {"field_set": "next_step"}, "empty", "unmet", "the next step is empty"),
    ("whitespace is empty", {"field_set": "lost_reason"}, "full", "unmet", None),
    ("set reference", {"field_set": "account"}, "full", "met", None),
    ("unset reference", {"field_set": "account"}, "empty", "unmet", "the account is empty"),
    ("set date", {"field_set": "close_date"}, "full", "met", None),
    ("unset number", {"field_set": "amount"}, "empty", "unmet", None),
    # field_compare
    (
        "amount gt",
        {"field_compare": {"field": "amount", "op": "gt", "value": 0}},
        "full",
        "met",
        "the amount is 5000.00 (needs more than 0)",
    ),
    (
        "amount gt empty is unknown",
        {"field_compare": {"field": "amount", "op": "gt", "value": 0}},
        "empty",
        "unknown",
        "the amount is empty, so it cannot be checked (needs more than 0)",
    ),
    (
        "amount eq",
        {"field_compare": {"field": "amount", "op": "eq", "value": 5000}},
        "full",
        "met",
        None,
    ),
    (
        "amount gte boundary",
        {"field_compare": {"field": "amount", "op": "gte", "value": Decimal("5000.00")}},
        "full",
        "met",
        None,
    ),
    (
        "amount gt boundary",
        {"field_compare": {"field": "amount", "op": "gt", "value": Decimal("5000")}},
        "full",
        "unmet",
        None,
    ),
    (
        "amount lt fraction",
        {"field_compare": {"field": "amount", "op": "lt", "value": Decimal("5000.001")}},
        "full",
        "met",
        None,
    ),
    (
        "amount as JSON string",
        {"field_compare": {"field": "amount", "op": "lte", "value": "4999.99"}},
        "full",
        "unmet",
        None,
    ),
    (
        "amount vs text is unknown",
        {"field_compare": {"field": "amount", "op": "gt", "value": "lots"}},
        "full",
        "unknown",
        None,
    ),
    (
        "amount exact at scale",
        {"field_compare": {"field": "amount", "op": "lt", "value": Decimal("999999999999.99001")}},
        "big",
        "met",
        None,
    ),
    (
        "amount exact eq at scale",
        {"field_compare": {"field": "amount", "op": "eq", "value": Decimal("999999999999.99001")}},
        "big",
        "unmet",
        None,
    ),
    (
        "probability zero is a value",
        {"field_compare": {"field": "probability", "op": "lte", "value": 0}},
        "big",
        "met",
        "the probability is 0 (needs at most 0)",
    ),
    (
        "probability vs decimal",
        {"field_compare": {"field": "probability", "op": "gt", "value": Decimal("34.5")}},
        "full",
        "met",
        None,
    ),
    (
        "close date before",
        {"field_compare": {"field": "close_date", "op": "lt", "value": date(2026, 5, 1)}},
        "full",
        "met",
        "the close date is 2026-04-30 (needs less than 2026-05-01)",
    ),
    (
        "close date as ISO text",
        {"field_compare": {"field": "close_date", "op": "eq", "value": "2026-04-30"}},
        "full",
        "met",
        None,
    ),
    (
        "close date vs number is unknown",
        {"field_compare": {"field": "close_date", "op": "eq", "value": 3}},
        "full",
        "unknown",
        None,
    ),
    (
        "text ne",
        {"field_compare": {"field": "forecast_category", "op": "ne", "value": "commit"}},
        "full",
        "met",
        None,
    ),
    (
        "text eq",
        {"field_compare": {"field": "source", "op": "eq", "value": "referral"}},
        "full",
        "met",
        "the source is “referral” (needs “referral”)",
    ),
    (
        "empty text compare is unknown",
        {"field_compare": {"field": "source", "op": "ne", "value": "referral"}},
        "empty",
        "unknown",
        None,
    ),
    (
        "reference eq",
        {"field_compare": {"field": "product", "op": "eq", "value": 3}},
        "full",
        "met",
        None,
    ),
    # contact_role
    (
        "role missing",
        {"contact_role": {"role": "economic_buyer"}},
        "empty",
        "unmet",
        "no contact with buying role Economic buyer attached",
    ),
    (
        "role present",
        {"contact_role": {"role": "economic_buyer"}},
        "full",
        "met",
        "1 contact with buying role Economic buyer attached",
    ),
    (
        "role min met",
        {"contact_role": {"role": "champion", "min": 2}},
        "full",
        "met",
        "2 contacts with buying role Champion attached (needs 2)",
    ),
    (
        "role min unmet",
        {"contact_role": {"role": "champion", "min": 3}},
        "full",
        "unmet",
        "2 contacts with buying role Champion attached (needs 3)",
    ),
    # contacts_engaged: contacts 10, 11 (demo 41d), 11 (meeting 30d), 12 (call 45d, demo 90d);
    # 13 only in the future.
    (
        "engaged boundary day counts",
        {"contacts_engaged": {"min": 3, "within_days": 45}},
        "full",
        "met",
        "3 contacts engaged in the last 45 days (needs 3)",
    ),
    (
        "engaged one day short",
        {"contacts_engaged": {"min": 3, "within_days": 44}},
        "full",
        "unmet",
        "2 contacts engaged in the last 44 days (needs 3)",
    ),
    (
        "future activity does not engage",
        {"contacts_engaged": {"min": 4, "within_days": 90}},
        "full",
        "unmet",
        "3 contacts engaged in the last 90 days (needs 4)",
    ),
    (
        "nobody engaged",
        {"contacts_engaged": {"min": 2, "within_days": 45}},
        "empty",
        "unmet",
        "no contacts engaged in the last 45 days (needs 2)",
    ),
    # activity
    (
        "demo too old",
        {"activity": {"type": "demo", "within_days": 30}},
        "full",
        "unmet",
        "last demo 41 days ago (needs one within 30)",
    ),
    (
        "demo exactly within_days",
        {"activity": {"type": "demo", "within_days": 41}},
        "full",
        "met",
        "last demo 41 days ago (needs one within 41)",
    ),
    (
        "demo one day outside",
        {"activity": {"type": "demo", "within_days": 40}},
        "full",
        "unmet",
        None,
    ),
    (
        "type list",
        {"activity": {"type": ["meeting", "workshop"], "within_days": 30}},
        "full",
        "met",
        "last meeting or discovery workshop 30 days ago (needs one within 30)",
    ),
    ("no window", {"activity": {"type": "demo"}}, "full", "met", "last demo 41 days ago"),
    ("never logged", {"activity": {"type": "demo"}}, "empty", "unmet", "no demo logged yet"),
    (
        "planned call does not count",
        {"activity": {"type": "call", "within_days": 1}},
        "full",
        "unmet",
        "last call 45 days ago (needs one within 1)",
    ),
    (
        "min met",
        {"activity": {"type": "proposal_sent", "min": 2, "within_days": 10}},
        "full",
        "met",
        "2 “proposal sent” activities logged in the last 10 days (needs 2)",
    ),
    (
        "min unmet",
        {"activity": {"type": "proposal_sent", "min": 2, "within_days": 9}},
        "full",
        "unmet",
        "1 “proposal sent” logged in the last 9 days (needs 2)",
    ),
    ("min without window", {"activity": {"type": "demo", "min": 3}}, "full", "unmet", None),
    (
        "planned call is not a second call",
        {"activity": {"type": "call", "min": 2}},
        "full",
        "unmet",
        "1 call logged (needs 2)",
    ),
    # all / any / not with unknowns (Kleene)
    (
        "all met",
        {"all": [{"field_set": "next_step"}, {"contact_role": {"role": "champion"}}]},
        "full",
        "met",
        "the next step is filled in; 2 contacts with buying role Champion attached",
    ),
    (
        "all unmet beats unknown",
        {
            "all": [
                {"field_compare": {"field": "amount", "op": "gt", "value": 0}},
                {"field_set": "next_step"},
            ]
        },
        "empty",
        "unmet",
        "the next step is empty",
    ),
    (
        "all unknown when the rest is met",
        {
            "all": [
                {"field_compare": {"field": "amount", "op": "gt", "value": 0}},
                {"not": {"field_set": "next_step"}},
            ]
        },
        "empty",
        "unknown",
        "the amount is empty, so it cannot be checked (needs more than 0)",
    ),
    (
        "any met beats unknown",
        {
            "any": [
                {"field_compare": {"field": "amount", "op": "gt", "value": 0}},
                {"not": {"field_set": "next_step"}},
            ]
        },
        "empty",
        "met",
        "the next step is empty",
    ),
    (
        "any unknown when the rest is unmet",
        {
            "any": [
                {"field_compare": {"field": "amount", "op": "gt", "value": 0}},
                {"field_set": "next_step"},
            ]
        },
        "empty",
        "unknown",
        None,
    ),
    (
        "any unmet",
        {"any": [{"field_set": "account"}, {"activity": {"type": "demo"}}]},
        "empty",
        "unmet",
        "the account is empty; no demo logged yet",
    ),
    (
        "not unknown stays unknown",
        {"not": {"field_compare": {"field": "amount", "op": "gt", "value": 100000}}},
        "empty",
        "unknown",
        None,
    ),
    (
        "not flips",
        {"not": {"contact_role": {"role": "blocker"}}},
        "full",
        "met",
        "no contact with buying role Blocker attached",
    ),
    (
        "nested three deep",
        {
            "any": [
                {"not": {"all": [{"field_set": "account"}, {"activity": {"type": "demo"}}]}},
                {"field_compare": {"field": "amount", "op": "lt", "value": 1}},
            ]
        },
        "full",
        "unmet",
        None,
    ),
    (
        "nested unknown through not and all",
        {
            "not": {
                "all": [
                    {"field_set": "lost_reason"},
                    {"field_compare": {"field": "amount", "op": "gt", "value": 1}},
                ]
            }
        },
        "empty",
        "met",
        None,
    ),
]


@pytest.mark.parametrize(
    ("rule", "snapshot", "status", "reason"),
    [
        pytest.param(rule, snap, status, reason, id=name)
        for name, rule, snap, status, reason in CASES
    ],
)
def test_rule_cases(rule: dict[str, Any], snapshot: str, status: str, reason: str | None) -> None:
    result = evaluate_rule(rule, SNAPSHOTS[snapshot], AS_OF)
    assert result.status == status
    if reason is not None:
        assert result.reason == reason


def test_windows_are_utc_calendar_days_whatever_the_timezone() -> None:
    # 23:30 at UTC-05:00 on 1 March is 04:30 UTC on 2 March: 29 UTC days before 31 March.
    west = timezone(timedelta(hours=-5))
    snap = OpportunitySnapshot(
        id=30, activities=(act("demo", datetime(2026, 3, 1, 23, 30, tzinfo=west)),)
    )
    result = evaluate_rule({"activity": {"type": "demo", "within_days": 29}}, snap, AS_OF)
    assert (result.status, result.reason) == ("met", "last demo 29 days ago (needs one within 29)")


def test_same_day_earlier_and_later_than_as_of() -> None:
    earlier = OpportunitySnapshot(id=4, activities=(act("call", days_ago(0, seconds=1)),))
    later = OpportunitySnapshot(id=5, activities=(act("call", days_ago(0, seconds=-1)),))
    rule = {"activity": {"type": "call", "within_days": 1}}
    assert evaluate_rule(rule, earlier, AS_OF).reason == "last call today (needs one within 1)"
    assert evaluate_rule(rule, later, AS_OF).status == "unmet"


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        evaluate_rule({"field_set": "amount"}, EMPTY, datetime(2026, 1, 1))


def test_every_default_rule_evaluates() -> None:
    process = parse_process(NEW_BUSINESS)
    criteria = [c for s in process.open_stages for c in s.exit_criteria]
    packs = Path(__file__).resolve().parents[2] / "process" / "packs"
    scales = element_scales(
        {p.stem: parse_methodology(p.read_text()) for p in packs.glob("*.yaml")}
    )
    full = replace(FULL, elements=(("meddpicc", "decision_process", "confirmed"),))
    expected_full = {
        "buyer_agreed_to_explore": "met",  # meeting 30 days ago
        "fit_with_ideal_customer": "met",
        "problem_and_cost_confirmed": "unknown",
        "stakeholders_identified": "met",
        "discovery_recap_accepted": "unknown",
        "economic_buyer_engaged": "met",
        "champion_identified": "met",
        "decision_process_shared": "met",  # MEDDPICC decision process confirmed
        "criteria_met_in_demo": "met",
        "technical_fit_confirmed": "unmet",
        "competition_known": "unknown",
        "business_case_validated": "met",
        "proposal_accepted_in_principle": "met",
        "paper_process_mapped": "unknown",
        "verbal_selection": "unknown",
        "terms_agreed": "unmet",
        "close_plan_dated": "met",
    }
    got = {c.id: evaluate_criterion(c, full, AS_OF, scales).status for c in criteria}
    assert got == expected_full
    for c in criteria:
        result = evaluate_criterion(c, EMPTY, AS_OF, scales)
        expected = "unknown" if c.rule is None else "unmet"
        assert result.status == expected, c.id
        assert result.reason
    recap = next(c for c in criteria if c.id == "discovery_recap_accepted")
    assert evaluate_criterion(recap, FULL, AS_OF).reason == "needs evidence from the buyer"
    assert evaluate_criterion({"verifier": "manager"}, FULL, AS_OF).reason == (
        "needs evidence from the manager"
    )


OPEN = ["engage", "discover", "commit"]
# (name, claimed, kind, statuses by stage, expected verified, under control, first gap)
STAGE_CASES: list[tuple[str, str, str, dict[str, list[str]], str, bool, str | None]] = [
    ("nothing met", "engage", "open", {"engage": ["unmet"]}, "engage", True, "engage"),
    (
        "ahead of evidence",
        "commit",
        "open",
        {"engage": ["met", "unknown"]},
        "engage",
        False,
        "engage",
    ),
    (
        "at evidence",
        "discover",
        "open",
        {"engage": ["met"], "discover": ["unmet"]},
        "discover",
        True,
        "discover",
    ),
    (
        "behind evidence",
        "engage",
        "open",
        {"engage": ["met"], "discover": ["met"]},
        "commit",
        True,
        None,
    ),
    ("no criteria at all", "commit", "open", {}, "commit", True, None),
    (
        "stage without criteria passes",
        "commit",
        "open",
        {"engage": [], "discover": ["met"]},
        "commit",
        True,
        None,
    ),
    (
        "later gap does not matter before",
        "discover",
        "open",
        {"commit": ["unmet"]},
        "commit",
        True,
        "commit",
    ),
    ("won all met", "won", "won", {"engage": ["met"], "commit": ["met"]}, "commit", True, None),
    # A won deal claims to have passed every open stage, the last one included.
    ("won gap in last stage", "won", "won", {"commit": ["unknown"]}, "commit", False, "commit"),
    ("won no criteria at all", "won", "won", {}, "commit", True, None),
    ("won gap earlier", "won", "won", {"discover": ["unmet"]}, "discover", False, "discover"),
    ("lost is never ahead", "lost", "lost", {"engage": ["unmet"]}, "engage", True, "engage"),
    ("unknown stages ignored", "engage", "open", {"other": ["unmet"]}, "commit", True, None),
]


@pytest.mark.parametrize(
    ("claimed", "kind", "statuses", "verified", "under_control", "gap"),
    [pytest.param(*case[1:], id=case[0]) for case in STAGE_CASES],
)
def test_verified_stage(
    claimed: str,
    kind: str,
    statuses: dict[str, list[str]],
    verified: str,
    under_control: bool,
    gap: str | None,
) -> None:
    assert verified_stage(OPEN, claimed, statuses, claimed_kind=kind) == (
        verified,
        under_control,
        gap,
    )


def test_verified_stage_refuses_unknown_claims() -> None:
    with pytest.raises(ValueError, match="not an open stage"):
        verified_stage(OPEN, "won", {})


# ---------------------------------------------------------------------------------------------
# Methodology elements.

MEDDPICC_SCALES = {
    ("meddpicc", "economic_buyer"): ("not_started", "partial", "confirmed"),
    ("meddpicc", "metrics"): ("not_started", "partial", "confirmed"),
}
SCORED = OpportunitySnapshot(
    id=9,
    elements=(("meddpicc", "economic_buyer", "partial"), ("meddpicc", "metrics", "confirmed")),
)


@pytest.mark.parametrize(
    ("spec", "status", "reason"),
    [
        ({"element": "metrics"}, "met", "MEDDPICC metrics is confirmed"),
        (
            {"element": "economic_buyer"},
            "unmet",
            "MEDDPICC economic buyer is partial (needs confirmed)",
        ),
        ({"element": "economic_buyer", "at_least": "partial"}, "met", None),
        ({"element": "economic_buyer", "at_least": "not_started"}, "met", None),
        ({"element": "champion"}, "unknown", None),  # no such element in the scales: broken
        ({"element": "metrics", "at_least": "done"}, "unknown", None),  # no such level
    ],
)
def test_methodology_rule(spec: dict[str, Any], status: str, reason: str | None) -> None:
    rule = {"methodology": {"pack": "meddpicc", **spec}}
    result = evaluate_rule(rule, SCORED, AS_OF, MEDDPICC_SCALES)
    assert result.status == status
    if reason is not None:
        assert result.reason == reason


def test_methodology_rule_not_assessed_is_unmet() -> None:
    rule = {"methodology": {"pack": "meddpicc", "element": "metrics", "at_least": "partial"}}
    result = evaluate_rule(rule, OpportunitySnapshot(id=1), AS_OF, MEDDPICC_SCALES)
    assert (result.status, result.reason) == (
        "unmet",
        "MEDDPICC metrics not assessed yet (needs partial)",
    )
    # Without scales every methodology rule is broken (unknown), never silently met.
    assert evaluate_rule(rule, SCORED, AS_OF).status == "unknown"
