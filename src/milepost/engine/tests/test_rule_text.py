"""Rules in plain English, as shown on the process map."""

from __future__ import annotations

import pytest

from milepost.engine.process_schema import ExitCriterionDef
from milepost.engine.rule_text import rule_sentence, rule_text

CASES = [
    ("field_set", {"field_set": "next_step"}, "the next step is filled in"),
    (
        "field_compare",
        {"field_compare": {"field": "amount", "op": "gt", "value": 0}},
        "the amount is greater than 0",
    ),
    (
        "field_compare_text",
        {"field_compare": {"field": "source", "op": "eq", "value": "partner"}},
        "the source is “partner”",
    ),
    (
        "field_compare_date",
        {"field_compare": {"field": "close_date", "op": "lte", "value": "2026-12-31"}},
        "the close date is at most 2026-12-31",
    ),
    (
        "contact_role",
        {"contact_role": {"role": "economic_buyer"}},
        "a contact with buying role Economic buyer is attached",
    ),
    (
        "contact_role_many",
        {"contact_role": {"role": "champion", "min": 2}},
        "at least 2 contacts with buying role Champion are attached",
    ),
    (
        "contacts_engaged",
        {"contacts_engaged": {"min": 2, "within_days": 30}},
        "at least 2 different contacts took part in activities in the last 30 days",
    ),
    (
        "activity_one_type",
        {"activity": {"type": "email"}},
        "an email activity was logged",
    ),
    (
        "activity_types_window",
        {"activity": {"type": ["demo", "workshop"], "within_days": 90}},
        "a demo or discovery workshop activity was logged in the last 90 days",
    ),
    (
        "activity_many",
        {"activity": {"type": ["call", "meeting", "email"], "min": 3, "within_days": 14}},
        "at least 3 call, meeting or email activities were logged in the last 14 days",
    ),
    (
        "all_two",
        {"all": [{"field_set": "next_step_date"}, {"field_set": "close_date"}]},
        "the next-step date is filled in and the close date is filled in",
    ),
    (
        "any_three",
        {
            "any": [
                {"field_set": "amount"},
                {"field_set": "product"},
                {"contact_role": {"role": "coach"}},
            ]
        },
        "at least one of: the amount is filled in; the product is filled in; "
        "a contact with buying role Coach is attached",
    ),
    (
        "nested_groups_are_bracketed",
        {
            "all": [
                {"field_set": "amount"},
                {"any": [{"field_set": "next_step"}, {"field_set": "next_step_date"}]},
            ]
        },
        "the amount is filled in and (the next step is filled in or "
        "the next-step date is filled in)",
    ),
    ("not_field", {"not": {"field_set": "lost_reason"}}, "the lost reason is empty"),
    (
        "not_role",
        {"not": {"contact_role": {"role": "blocker"}}},
        "no contact with buying role Blocker is attached",
    ),
    (
        "not_activity",
        {"not": {"activity": {"type": "negotiation", "within_days": 7}}},
        "no negotiation activity was logged in the last 7 days",
    ),
    (
        "not_group",
        {"not": {"all": [{"field_set": "amount"}, {"field_set": "product"}]}},
        "it is not the case that (the amount is filled in and the product is filled in)",
    ),
]


@pytest.mark.parametrize(("rule", "expected"), [pytest.param(r, e, id=i) for i, r, e in CASES])
def test_rule_text(rule, expected):
    assert rule_text(rule) == expected


def test_accepts_validated_rule_models_and_frames_the_sentence():
    criterion = ExitCriterionDef.model_validate(
        {
            "id": "eb",
            "statement": "The economic buyer is engaged",
            "verifier": "buyer",
            "rule": {"not": {"field_set": "lost_reason"}},
        }
    )
    assert rule_sentence(criterion.rule) == "Automatic check: the lost reason is empty"


@pytest.mark.parametrize("bad", [{}, {"field_set": "amount", "activity": {"type": "demo"}}])
def test_a_rule_has_exactly_one_kind(bad):
    with pytest.raises(ValueError, match="exactly one kind"):
        rule_text(bad)
