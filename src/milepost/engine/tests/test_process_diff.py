"""Differences between two process definitions: structured, in document order, readable."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from milepost.engine.process_diff import ChangeKind, describe_changes, diff_processes
from milepost.engine.process_schema import ProcessDef

DEFAULTS = Path(__file__).resolve().parents[2] / "process" / "defaults"
BASE: dict[str, Any] = yaml.safe_load((DEFAULTS / "new_business.yaml").read_text())
OLD = ProcessDef.model_validate(BASE)


def _new(change: Callable[[dict[str, Any]], Any]) -> ProcessDef:
    doc = copy.deepcopy(BASE)
    change(doc)
    return ProcessDef.model_validate(doc)


def _stage(doc: dict[str, Any], key: str) -> dict[str, Any]:
    return next(s for s in doc["stages"] if s["key"] == key)


def _criterion(doc: dict[str, Any], cid: str) -> dict[str, Any]:
    return next(c for s in doc["stages"] for c in s.get("exit_criteria", []) if c["id"] == cid)


def _add_stage(doc):
    doc["stages"].insert(
        2,
        {
            "key": "qualify",
            "label": "Qualify",
            "kind": "open",
            "buyer_phase": "explore",
            "probability": 15,
            "forecast_category": "pipeline",
        },
    )


def _remove_stage(doc):
    doc["stages"] = [s for s in doc["stages"] if s["key"] != "commit"]


def _swap(doc):
    stages = doc["stages"]
    stages[3], stages[4] = stages[4], stages[3]


def _move_criterion(doc):
    moved = _stage(doc, "negotiate")["exit_criteria"].pop(0)
    _stage(doc, "justify")["exit_criteria"].append(moved)


def _add_criterion(doc):
    _stage(doc, "engage")["exit_criteria"].append(
        {"id": "pain_named", "statement": "The buyer named a pain", "verifier": "buyer"}
    )


# (case id, mutation, expected (kind, stage, criterion, field, old, new) tuples)
CASES = [
    (
        "process_name",
        lambda d: d.update(name="New logo"),
        [(ChangeKind.PROCESS_FIELD, None, None, "name", "New business", "New logo")],
    ),
    (
        "gate_policy",
        lambda d: d.update(gate_policy="block"),
        [(ChangeKind.PROCESS_FIELD, None, None, "gate_policy", "warn", "block")],
    ),
    (
        "stage_label",
        lambda d: _stage(d, "commit").update(label="Commit"),
        [(ChangeKind.STAGE_FIELD, "commit", None, "label", "Commit to change", "Commit")],
    ),
    (
        "probability_and_category",
        lambda d: _stage(d, "justify").update(probability=65, forecast_category="commit"),
        [
            (ChangeKind.STAGE_FIELD, "justify", None, "probability", 60, 65),
            (ChangeKind.STAGE_FIELD, "justify", None, "forecast_category", "best_case", "commit"),
        ],
    ),
    (
        "days",
        lambda d: _stage(d, "engage").update(expected_days=10, max_days=None),
        [
            (ChangeKind.STAGE_FIELD, "engage", None, "expected_days", 14, 10),
            (ChangeKind.STAGE_FIELD, "engage", None, "max_days", 30, None),
        ],
    ),
    (
        "buyer_phase",
        lambda d: _stage(d, "commit").update(buyer_phase="decide"),
        [(ChangeKind.STAGE_FIELD, "commit", None, "buyer_phase", "explore", "decide")],
    ),
    (
        "stage_added",
        _add_stage,
        [(ChangeKind.STAGE_ADDED, "qualify", None, None, None, ...)],
    ),
    (
        "stage_removed_takes_its_criteria",
        _remove_stage,
        [
            (ChangeKind.STAGE_REMOVED, "commit", None, None, ..., None),
            (ChangeKind.CRITERION_REMOVED, "commit", "economic_buyer_engaged", None, ..., None),
            (ChangeKind.CRITERION_REMOVED, "commit", "champion_identified", None, ..., None),
            (ChangeKind.CRITERION_REMOVED, "commit", "decision_process_shared", None, ..., None),
        ],
    ),
    (
        "stages_reordered",
        _swap,
        [
            (
                ChangeKind.STAGES_REORDERED,
                None,
                None,
                None,
                ["engage", "discover", "commit", "evaluate", "justify", "negotiate", "won", "lost"],
                ["engage", "discover", "commit", "justify", "evaluate", "negotiate", "won", "lost"],
            )
        ],
    ),
    (
        "criterion_statement",
        lambda d: _criterion(d, "competition_known").update(statement="We know the competition"),
        [(ChangeKind.CRITERION_FIELD, "evaluate", "competition_known", "statement", ..., ...)],
    ),
    (
        "criterion_verifier",
        lambda d: _criterion(d, "champion_identified").update(verifier="buyer"),
        [
            (
                ChangeKind.CRITERION_FIELD,
                "commit",
                "champion_identified",
                "verifier",
                "manager",
                "buyer",
            )
        ],
    ),
    (
        "criterion_rule",
        lambda d: _criterion(d, "fit_with_ideal_customer").update(rule={"field_set": "product"}),
        [
            (
                ChangeKind.CRITERION_FIELD,
                "engage",
                "fit_with_ideal_customer",
                "rule",
                {"field_set": "account"},
                {"field_set": "product"},
            )
        ],
    ),
    (
        "criterion_rule_removed",
        lambda d: _criterion(d, "fit_with_ideal_customer").pop("rule"),
        [
            (
                ChangeKind.CRITERION_FIELD,
                "engage",
                "fit_with_ideal_customer",
                "rule",
                {"field_set": "account"},
                None,
            )
        ],
    ),
    (
        "criterion_added",
        _add_criterion,
        [(ChangeKind.CRITERION_ADDED, "engage", "pain_named", None, None, ...)],
    ),
    (
        "criterion_moved",
        _move_criterion,
        [(ChangeKind.CRITERION_MOVED, "justify", "verbal_selection", None, "negotiate", "justify")],
    ),
    (
        "criteria_reordered",
        lambda d: _stage(d, "discover")["exit_criteria"].reverse(),
        [
            (
                ChangeKind.CRITERIA_REORDERED,
                "discover",
                None,
                None,
                [
                    "problem_and_cost_confirmed",
                    "stakeholders_identified",
                    "discovery_recap_accepted",
                ],
                [
                    "discovery_recap_accepted",
                    "stakeholders_identified",
                    "problem_and_cost_confirmed",
                ],
            )
        ],
    ),
    (
        "inspection_threshold",
        lambda d: d["inspection"].update(no_activity_days=21),
        [(ChangeKind.PROCESS_FIELD, None, None, "inspection", ..., ...)],
    ),
    (
        "criterion_evidence_required",
        lambda d: _criterion(d, "fit_with_ideal_customer").update(evidence="required"),
        [
            (
                ChangeKind.CRITERION_FIELD,
                "engage",
                "fit_with_ideal_customer",
                "evidence",
                None,
                "required",
            )
        ],
    ),
    (
        "required_element_added",
        lambda d: _stage(d, "engage")["methodology"]["meddpicc"].update(required=["metrics"]),
        [(ChangeKind.METHODOLOGY_MAPPING, "engage", None, "meddpicc", [], ["required metrics"])],
    ),
    (
        "element_required_to_recommended",
        lambda d: _stage(d, "evaluate")["methodology"]["meddpicc"].update(
            required=["decision_criteria"], recommended=["champion", "competition"]
        ),
        [
            (
                ChangeKind.METHODOLOGY_MAPPING,
                "evaluate",
                None,
                "meddpicc",
                ["required competition"],
                ["recommended competition"],
            )
        ],
    ),
    (
        "pack_unmapped_from_stage",
        lambda d: _stage(d, "engage")["methodology"].pop("spin"),
        [(ChangeKind.METHODOLOGY_MAPPING, "engage", None, "spin", ["recommended situation"], [])],
    ),
    (
        "methodology_purpose_changed",
        lambda d: d["methodologies"][0].update(purpose="Questions."),
        [(ChangeKind.METHODOLOGIES, None, None, None, ..., ["spin (Questions.)"])],
    ),
    (
        "playbook_written",
        lambda d: _stage(d, "won").update(playbook="# Won\n\nRun a win review.\n"),
        [(ChangeKind.STAGE_TEXT, "won", None, "playbook", 0, 3)],
    ),
    (
        "suggested_action_changed",
        lambda d: _stage(d, "won")["suggested_actions"].append("Send a thank-you note."),
        [(ChangeKind.SUGGESTED_ACTIONS, "won", None, None, [], ["Send a thank-you note."])],
    ),
]


@pytest.mark.parametrize(("mutation", "expected"), [pytest.param(m, e, id=i) for i, m, e in CASES])
def test_diff_reports_exactly_the_change(mutation, expected):
    changes = diff_processes(OLD, _new(mutation))
    assert len(changes) == len(expected), describe_changes(changes)
    for change, (kind, stage, criterion, field, old, new) in zip(changes, expected, strict=True):
        assert (change.kind, change.stage, change.criterion, change.field) == (
            kind,
            stage,
            criterion,
            field,
        )
        if old is not ...:
            assert change.old == old
        if new is not ...:
            assert change.new == new


def test_identical_processes_have_no_changes():
    assert diff_processes(OLD, ProcessDef.model_validate(copy.deepcopy(BASE))) == []


def test_rule_changes_read_in_plain_english():
    new = _new(
        lambda d: _criterion(d, "fit_with_ideal_customer").update(
            rule={"contact_role": {"role": "economic_buyer"}}
        )
    )
    lines = describe_changes(diff_processes(OLD, new))
    assert lines == [
        "stage 'engage' > criterion 'fit_with_ideal_customer': rule changed",
        "  was: the account is filled in",
        "  now: a contact with buying role Economic buyer is attached",
    ]


def test_described_lines_name_stage_and_values():
    new = _new(lambda d: (_add_stage(d), _stage(d, "justify").update(probability=65)))
    lines = describe_changes(diff_processes(OLD, new))
    assert lines[0].startswith("stage 'qualify' added: “Qualify” (open, 15%, pipeline")
    assert lines[0].endswith("after 'discover'")
    assert "stage 'justify': probability 60 → 65" in lines


def test_different_processes_compare_field_by_field():
    renewal = ProcessDef.model_validate(yaml.safe_load((DEFAULTS / "renewal.yaml").read_text()))
    changes = diff_processes(OLD, renewal)
    kinds = {c.kind for c in changes}
    assert ChangeKind.PROCESS_FIELD in kinds
    assert ChangeKind.STAGE_ADDED in kinds
    assert ChangeKind.STAGE_REMOVED in kinds
    removed = {c.stage for c in changes if c.kind == ChangeKind.STAGE_REMOVED}
    assert removed == {s.key for s in OLD.stages}


def test_inspection_change_reads_as_the_thresholds() -> None:
    changes = diff_processes(OLD, _new(lambda d: d["inspection"].update(no_activity_days=21)))
    (line,) = changes[0].describe()
    assert line.startswith("process: inspection thresholds {")
    assert "'no_activity_days': 14" in line
    assert "'no_activity_days': 21" in line
