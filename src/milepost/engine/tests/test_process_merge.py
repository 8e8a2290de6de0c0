"""Three-way merge of process documents: each side's changes kept, real conflicts reported."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from milepost.engine.process_merge import MISSING, Conflict, merge_processes, resolve


def _criterion(cid: str, statement: str = "") -> dict[str, Any]:
    return {"id": cid, "statement": statement or f"{cid} done", "verifier": "buyer"}


def _base() -> dict[str, Any]:
    return {
        "key": "nb",
        "name": "New business",
        "gate_policy": "warn",
        "inspection": {"stalled_factor": 1.5, "engaged_within_days": 30},
        "stages": [
            {
                "key": "engage",
                "label": "Engage",
                "probability": 10,
                "exit_criteria": [_criterion("pain"), _criterion("champion")],
            },
            {"key": "discover", "label": "Discover", "probability": 25, "exit_criteria": []},
            {"key": "propose", "label": "Propose", "probability": 50},
            {"key": "won", "label": "Won", "kind": "won", "probability": 100},
        ],
    }


def _stage(doc: dict[str, Any], key: str) -> dict[str, Any]:
    return next(s for s in doc["stages"] if s["key"] == key)


def test_changes_on_both_sides_in_different_places_are_all_kept():
    base, ours, theirs = _base(), _base(), _base()
    _stage(ours, "engage")["label"] = "Engage the buyer"
    ours["stages"][0]["exit_criteria"].append(_criterion("budget"))
    _stage(theirs, "discover")["probability"] = 30
    theirs["inspection"]["stalled_factor"] = 2
    theirs["stages"].insert(2, {"key": "validate", "label": "Validate", "probability": 40})

    result = merge_processes(base, ours, theirs)

    assert result.clean
    doc = result.document
    assert [s["key"] for s in doc["stages"]] == ["engage", "discover", "validate", "propose", "won"]
    assert _stage(doc, "engage")["label"] == "Engage the buyer"
    assert [c["id"] for c in _stage(doc, "engage")["exit_criteria"]] == [
        "pain",
        "champion",
        "budget",
    ]
    assert _stage(doc, "discover")["probability"] == 30
    assert doc["inspection"] == {"stalled_factor": 2, "engaged_within_days": 30}


def test_the_same_field_changed_differently_is_a_conflict_holding_the_draft_value():
    base, ours, theirs = _base(), _base(), _base()
    _stage(ours, "discover")["probability"] = 20
    _stage(theirs, "discover")["probability"] = 35

    result = merge_processes(base, ours, theirs)

    assert result.conflicts == [Conflict(("stages", "discover", "probability"), 25, 20, 35)]
    assert result.conflicts[0].where == "stage 'discover' > probability"
    assert _stage(result.document, "discover")["probability"] == 20
    assert _stage(resolve(base, ours, theirs, prefer="theirs"), "discover")["probability"] == 35
    assert _stage(resolve(base, ours, theirs, prefer="ours"), "discover")["probability"] == 20


def test_the_same_change_on_both_sides_is_no_conflict():
    base, ours, theirs = _base(), _base(), _base()
    for doc in (ours, theirs):
        _stage(doc, "propose")["label"] = "Proposal"
    result = merge_processes(base, ours, theirs)
    assert result.clean
    assert _stage(result.document, "propose")["label"] == "Proposal"


def test_removed_on_one_side_edited_on_the_other_is_a_conflict():
    base, ours, theirs = _base(), _base(), _base()
    ours["stages"] = [s for s in ours["stages"] if s["key"] != "propose"]
    _stage(theirs, "propose")["probability"] = 55

    result = merge_processes(base, ours, theirs)

    (conflict,) = result.conflicts
    assert conflict.path == ("stages", "propose")
    assert conflict.ours is MISSING
    assert conflict.where == "stage 'propose'"
    assert "propose" not in [s["key"] for s in result.document["stages"]]


def test_removed_on_one_side_untouched_on_the_other_is_removed():
    base, ours, theirs = _base(), _base(), _base()
    _stage(ours, "engage")["exit_criteria"] = [_criterion("pain")]
    _stage(theirs, "propose")["label"] = "Proposal"
    result = merge_processes(base, ours, theirs)
    assert result.clean
    assert [c["id"] for c in _stage(result.document, "engage")["exit_criteria"]] == ["pain"]


def test_a_rule_is_one_value_and_unset_fields_count_as_changes():
    base, ours, theirs = _base(), _base(), _base()
    _stage(base, "engage")["exit_criteria"][0]["rule"] = {"field_set": "next_step"}
    _stage(ours, "engage")["exit_criteria"][0]["rule"] = {"field_set": "amount"}
    _stage(theirs, "engage")["exit_criteria"][0]["rule"] = {"contact_role": {"role": "champion"}}
    del theirs["gate_policy"]

    result = merge_processes(base, ours, theirs)

    assert [c.path for c in result.conflicts] == [
        ("stages", "engage", "exit_criteria", "pain", "rule")
    ]
    assert result.conflicts[0].where == "stage 'engage' > criterion 'pain' > rule"
    assert "gate_policy" not in result.document


def test_both_reordering_differently_is_an_order_conflict():
    base, ours, theirs = _base(), _base(), _base()
    ours["stages"][0], ours["stages"][1] = ours["stages"][1], ours["stages"][0]
    theirs["stages"][1], theirs["stages"][2] = theirs["stages"][2], theirs["stages"][1]
    result = merge_processes(base, ours, theirs)
    assert [c.where for c in result.conflicts] == ["order of stages"]
    # one side's reordering alone is taken
    result = merge_processes(base, _base(), theirs)
    assert result.clean
    assert [s["key"] for s in result.document["stages"]] == [s["key"] for s in theirs["stages"]]


def test_a_malformed_list_is_merged_as_one_value():
    base, ours, theirs = _base(), _base(), _base()
    ours["stages"] = "not a list"
    _stage(theirs, "engage")["label"] = "x"
    result = merge_processes(base, ours, theirs)
    assert [c.path for c in result.conflicts] == [("stages",)]
    with pytest.raises(ValueError, match="prefer"):
        resolve(base, ours, theirs, prefer="mine")


# --- Properties --------------------------------------------------------------------------------

_scalar = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text("abc", max_size=3))
_key = st.text("abcdef", min_size=1, max_size=3)


def _keyed_list(item: st.SearchStrategy[dict[str, Any]], id_field: str) -> Any:
    return st.lists(item, max_size=4, unique_by=lambda d: d[id_field])


_criteria = _keyed_list(
    st.fixed_dictionaries(
        {"id": _key, "statement": st.text("xyz", max_size=3)},
        optional={"rule": st.dictionaries(_key, _scalar, max_size=2)},
    ),
    "id",
)
_stages = _keyed_list(
    st.fixed_dictionaries(
        {"key": _key, "label": _scalar},
        optional={
            "probability": st.integers(0, 100),
            "exit_criteria": _criteria,
            "suggested_actions": st.lists(st.text("ab", max_size=2), max_size=2),
        },
    ),
    "key",
)
documents = st.fixed_dictionaries(
    {"key": _key, "stages": _stages},
    optional={
        "name": _scalar,
        "inspection": st.dictionaries(_key, _scalar, max_size=3),
    },
)


@settings(max_examples=100, deadline=None)
@given(base=documents, doc=documents)
def test_merging_with_an_unchanged_side_returns_the_other_side(base, doc):
    kept = copy.deepcopy(doc)
    assert merge_processes(base, doc, base).document == kept
    assert merge_processes(base, base, doc).document == kept
    assert merge_processes(base, doc, base).clean
    assert merge_processes(base, base, doc).clean
    assert doc == kept  # inputs are not changed


@settings(max_examples=100, deadline=None)
@given(base=documents, doc=documents)
def test_merging_a_draft_with_itself_is_the_draft(base, doc):
    result = merge_processes(base, doc, doc)
    assert result.clean
    assert result.document == doc
