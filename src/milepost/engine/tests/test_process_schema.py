"""Process schema validation: every kind of error names where it is, in the document's terms."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import milepost
from milepost.engine.process_schema import ProcessInvalid, dump_process, parse_process

DEFAULTS = Path(__file__).resolve().parents[2] / "process" / "defaults"
BASE: dict[str, Any] = yaml.safe_load((DEFAULTS / "new_business.yaml").read_text())


def _mutated(change: Callable[[dict[str, Any]], Any]) -> str:
    doc = copy.deepcopy(BASE)
    change(doc)
    return yaml.safe_dump(doc, sort_keys=False)


def _criterion(stage: int, index: int) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda d: d["stages"][stage]["exit_criteria"][index]


def _set(getter: Callable[[dict[str, Any]], Any], key: str, value: Any):
    return lambda d: getter(d).__setitem__(key, value)


STAGE_2 = lambda d: d["stages"][1]  # noqa: E731
ROOT = lambda d: d  # noqa: E731

# (case id, mutation, expected location, words the message must contain)
CASES = [
    (
        "probability_too_high",
        _set(STAGE_2, "probability", 140),
        "stage #2 'discover' > probability",
        ["less than or equal to 100", "140"],
    ),
    (
        "missing_label",
        lambda d: d["stages"][1].pop("label"),
        "stage #2 'discover' > label",
        ["required"],
    ),
    (
        "misspelt_field_suggests",
        _set(STAGE_2, "lable", "X"),
        "stage #2 'discover' > lable",
        ["unknown field 'lable'", "did you mean 'label'"],
    ),
    (
        "bad_verifier",
        _set(_criterion(2, 1), "verifier", "ceo"),
        "stage #3 'commit' > criterion #2 'champion_identified' > verifier",
        ["'rep', 'manager' or 'buyer'", "'ceo'"],
    ),
    (
        "unknown_buying_role_in_rule",
        _set(_criterion(2, 0), "rule", {"contact_role": {"role": "ceo"}}),
        "stage #3 'commit' > criterion #1 'economic_buyer_engaged' > rule > contact_role > role",
        ["'economic_buyer'", "'ceo'"],
    ),
    (
        "rule_without_a_kind",
        _set(_criterion(2, 0), "rule", {"bogus": 1}),
        "stage #3 'commit' > criterion #1 'economic_buyer_engaged' > rule",
        ["exactly one of", "bogus"],
    ),
    (
        "rule_with_two_kinds",
        _set(_criterion(2, 0), "rule", {"field_set": "amount", "activity": {"type": "demo"}}),
        "stage #3 'commit' > criterion #1 'economic_buyer_engaged' > rule",
        ["exactly one of", "field_set", "activity"],
    ),
    (
        "nested_activity_type_reads_without_union_noise",
        _set(
            _criterion(4, 0),
            "rule",
            {"all": [{"field_set": "amount"}, {"activity": {"type": "lunch"}}]},
        ),
        "stage #5 'justify' > criterion #1 'business_case_validated' > rule > all > [2] "
        "> activity > type",
        ["'negotiation' or 'note', or a list of those", "'lunch'"],
    ),
    (
        "bad_item_in_activity_type_list",
        _set(_criterion(0, 0), "rule", {"activity": {"type": ["demo", "lunch"]}}),
        "stage #1 'engage' > criterion #1 'buyer_agreed_to_explore' > rule > activity > type > [2]",
        ["'lunch'"],
    ),
    (
        "unknown_field_under_not",
        _set(_criterion(4, 0), "rule", {"not": {"field_set": "colour"}}),
        "stage #5 'justify' > criterion #1 'business_case_validated' > rule > not > field_set",
        ["'amount'", "'colour'"],
    ),
    (
        "compare_value_of_wrong_type",
        _set(
            _criterion(4, 0),
            "rule",
            {"field_compare": {"field": "amount", "op": "gt", "value": [1]}},
        ),
        "stage #5 'justify' > criterion #1 'business_case_validated' > rule > field_compare "
        "> value",
        ["a number", "a date"],
    ),
    (
        "expected_days_over_max",
        _set(STAGE_2, "expected_days", 100),
        "stage #2 'discover'",
        ["expected_days must not exceed max_days"],
    ),
    (
        "won_stage_not_closed",
        _set(lambda d: d["stages"][6], "probability", 90),
        "stage #7 'won'",
        ["a won stage has probability 100"],
    ),
    (
        "criterion_id_repeated_across_stages",
        _set(_criterion(3, 1), "id", "problem_and_cost_confirmed"),
        "stages",
        ["problem_and_cost_confirmed (stages discover, evaluate)"],
    ),
    (
        "stage_key_repeated",
        lambda d: d["stages"].insert(1, copy.deepcopy(d["stages"][0]) | {"exit_criteria": []}),
        "stages",
        ["stage keys repeat: engage"],
    ),
    (
        "open_stage_after_closed",
        lambda d: d["stages"].append({**d["stages"][0], "key": "late", "exit_criteria": []}),
        "stages",
        ["open stages come first"],
    ),
    (
        "bad_slug",
        _set(lambda d: d["stages"][0], "key", "Engage"),
        "stage #1 'Engage' > key",
        ["lower-case letters"],
    ),
    (
        "bad_currency",
        _set(ROOT, "currency", "usd"),
        "currency",
        ["three-letter ISO currency code", "'usd'"],
    ),
    (
        "stage_not_a_mapping",
        lambda d: d["stages"].__setitem__(1, "discover"),
        "stage #2",
        ["mapping"],
    ),
    (
        "suggested_action_not_text",
        lambda d: d["stages"][1]["suggested_actions"].__setitem__(1, 3),
        "stage #2 'discover' > suggested_actions > [2]",
        ["string"],
    ),
]


@pytest.mark.parametrize(
    ("mutation", "location", "words"),
    [pytest.param(m, loc, words, id=case) for case, m, loc, words in CASES],
)
def test_error_names_its_location(mutation, location, words):
    with pytest.raises(ProcessInvalid) as info:
        parse_process(_mutated(mutation))
    matches = [e for e in info.value.errors if e.location == location]
    assert matches, [str(e) for e in info.value.errors]
    message = " | ".join(e.message for e in matches)
    for word in words:
        assert word in message


def test_union_members_never_leak_into_locations():
    text = _mutated(
        _set(
            _criterion(2, 0),
            "rule",
            {"field_compare": {"field": "amount", "op": "gt", "value": {}}},
        )
    )
    with pytest.raises(ProcessInvalid) as info:
        parse_process(text)
    for error in info.value.errors:
        assert "decimal" not in error.location
        assert "literal[" not in error.location
    # One error for one bad value, not one per accepted type.
    assert len(info.value.errors) == 1


def test_every_error_is_reported_at_once_with_its_line():
    text = (DEFAULTS / "new_business.yaml").read_text()
    text = text.replace("probability: 35", "probability: 135").replace(
        "    verifier: rep\n        rule: {field_set: account}",
        "    verifier: boss\n        rule: {field_set: account}",
    )
    with pytest.raises(ProcessInvalid) as info:
        parse_process(text)
    lines = text.splitlines()
    by_field = {e.location.rsplit(" > ", 1)[-1]: e for e in info.value.errors}
    assert set(by_field) == {"probability", "verifier"}
    assert "probability: 135" in lines[by_field["probability"].line - 1]
    assert "verifier: boss" in lines[by_field["verifier"].line - 1]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("key: [unclosed", "not valid YAML", id="yaml_syntax"),
        pytest.param("- just\n- a list\n", "a process file is a mapping", id="not_a_mapping"),
        pytest.param("", "a process file is a mapping", id="empty"),
    ],
)
def test_documents_that_are_not_processes(text, expected):
    with pytest.raises(ProcessInvalid) as info:
        parse_process(text)
    assert expected in str(info.value)


@pytest.mark.parametrize("name", ["new_business.yaml", "renewal.yaml"])
def test_shipped_defaults_validate_and_round_trip(name):
    process = parse_process((DEFAULTS / name).read_text())
    assert len(process.open_stages) >= 4
    assert {s.kind for s in process.stages} == {"open", "won", "lost"}
    for stage in process.open_stages:
        assert stage.exit_criteria, stage.key
        assert stage.suggested_actions, stage.key
        assert any(c.verifier == "buyer" for c in stage.exit_criteria), stage.key
    again = parse_process(dump_process(process))
    assert again.checksum() == process.checksum()


def test_new_business_keeps_its_stage_keys():
    process = parse_process((DEFAULTS / "new_business.yaml").read_text())
    assert [s.key for s in process.stages] == [
        "engage",
        "discover",
        "commit",
        "evaluate",
        "justify",
        "negotiate",
        "won",
        "lost",
    ]


def test_renewal_follows_the_customer_journey_and_uses_rules():
    process = parse_process((DEFAULTS / "renewal.yaml").read_text())
    assert process.key == "renewal"
    assert [s.key for s in process.open_stages] == [
        "value_realised",
        "renewal_decision",
        "terms",
        "signature",
    ]
    probabilities = [s.probability for s in process.open_stages]
    assert probabilities == sorted(probabilities)
    rules = [c.rule for s in process.stages for c in s.exit_criteria if c.rule]
    assert len(rules) >= 5


@pytest.mark.parametrize(
    ("compare", "message"),
    [
        ({"field": "amount", "op": "gt", "value": "lots"}, "amount is compared with a number"),
        ({"field": "close_date", "op": "lt", "value": 5}, "close_date is compared with a date"),
        ({"field": "account", "op": "eq", "value": "Acme"}, "account is compared with an id"),
        ({"field": "next_step", "op": "eq", "value": 7}, "next_step is compared with text"),
        ({"field": "forecast_category", "op": "eq", "value": "maybe"}, "unknown forecast category"),
        ({"field": "source", "op": "gt", "value": "web"}, "can only be compared with eq or ne"),
    ],
)
def test_field_compare_value_must_fit_the_field(compare, message):
    doc = yaml.safe_load(
        (Path(milepost.__file__).parent / "process/defaults/new_business.yaml").read_text()
    )
    doc["stages"][0]["exit_criteria"][0]["rule"] = {"field_compare": compare}
    with pytest.raises(ProcessInvalid) as info:
        parse_process(yaml.safe_dump(doc))
    (error,) = info.value.errors
    assert "stage #1 'engage' > criterion #1" in error.location
    assert message in error.message


@pytest.mark.parametrize(
    "compare",
    [
        {"field": "amount", "op": "gte", "value": 10000},
        {"field": "amount", "op": "gt", "value": 0.5},
        {"field": "close_date", "op": "lte", "value": "2027-01-31"},
        {"field": "forecast_category", "op": "ne", "value": "omitted"},
    ],
)
def test_well_typed_field_compare_is_accepted(compare):
    doc = yaml.safe_load(
        (Path(milepost.__file__).parent / "process/defaults/new_business.yaml").read_text()
    )
    doc["stages"][0]["exit_criteria"][0]["rule"] = {"field_compare": compare}
    parse_process(yaml.dump(doc).replace("'2027-01-31'", "2027-01-31"))
