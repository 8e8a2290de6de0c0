"""Job aids: what a stage's one page contains, built from the process and its packs."""

from __future__ import annotations

from pathlib import Path

import pytest

from milepost.engine.methodology_schema import MethodologyDef, parse_methodology
from milepost.engine.process_schema import ProcessDef, parse_process
from milepost.playbooks.job_aid import StageNotFound, build_job_aid
from milepost.process.services import DEFAULTS_DIR, PACKS_DIR, with_playbook_files


@pytest.fixture(scope="module")
def packs() -> dict[str, MethodologyDef]:
    loaded = (parse_methodology(p.read_text()) for p in sorted(PACKS_DIR.glob("*.yaml")))
    return {pack.key: pack for pack in loaded}


def _process(name: str) -> ProcessDef:
    text = (DEFAULTS_DIR / f"{name}.yaml").read_text()
    return with_playbook_files(parse_process(text), DEFAULTS_DIR)


def _with_mapping(process: ProcessDef, stage_key: str, mapping: dict) -> ProcessDef:
    data = process.model_dump(mode="json", by_alias=True, exclude_none=True)
    data["methodologies"] = [{"pack": key} for key in mapping]
    for stage in data["stages"]:
        stage["methodology"] = mapping if stage["key"] == stage_key else {}
        stage["exit_criteria"] = [
            c for c in stage["exit_criteria"] if "methodology" not in str(c.get("rule"))
        ]
    return ProcessDef.model_validate(data)


def test_job_aid_has_goal_exit_criteria_with_verifier_and_top_actions(packs):
    process = _process("new_business")
    aid = build_job_aid(process, "discover", packs, version=3)
    stage = next(s for s in process.stages if s.key == "discover")
    assert (aid.stage_label, aid.version, aid.position) == ("Discover", 3, 2)
    assert aid.buyer_goal == stage.buyer_goal
    assert [c.statement for c in aid.exit_criteria] == [c.statement for c in stage.exit_criteria]
    by_id = {c.id: c.verified_by for c in aid.exit_criteria}
    assert by_id["problem_and_cost_confirmed"] == "the buyer confirms"
    assert by_id["stakeholders_identified"] == "you verify"
    assert list(aid.actions) == stage.suggested_actions[:3]


def test_mapped_elements_bring_their_first_questions_required_first(packs):
    process = _with_mapping(
        _process("new_business"),
        "evaluate",
        {
            "spin": {"recommended": ["implication"]},
            "meddpicc": {"required": ["decision_criteria", "competition"]},
        },
    )
    aid = build_job_aid(process, "evaluate", packs)
    assert [(e.pack, e.element, e.need) for e in aid.elements] == [
        ("meddpicc", "decision_criteria", "required"),
        ("meddpicc", "competition", "required"),
        ("spin", "implication", "recommended"),
    ]
    meddpicc, spin = packs["meddpicc"], packs["spin"]
    criteria = aid.elements[0]
    assert criteria.label == meddpicc.element("decision_criteria").label
    assert criteria.pack_name == meddpicc.name
    assert criteria.questions == tuple(meddpicc.element("decision_criteria").questions[:3])
    assert aid.elements[2].questions == tuple(spin.element("implication").questions[:2])
    assert aid.questions == ()  # the pack questions stand; no fallback to the playbook


def test_without_mapped_elements_the_playbook_question_bank_stands_in(packs):
    process = _with_mapping(_process("new_business"), "discover", {})
    aid = build_job_aid(process, "engage", packs)
    assert aid.elements == ()
    assert aid.questions
    assert aid.questions[0] in process.stages[0].playbook
    assert aid.mistakes
    assert aid.mistakes[0] in process.stages[0].playbook


def test_a_pack_that_is_not_loaded_still_shows_the_element_by_name(packs):
    process = _with_mapping(
        _process("new_business"), "commit", {"meddpicc": {"required": ["economic_buyer"]}}
    )
    aid = build_job_aid(process, "commit", {})
    assert [(e.label, e.questions) for e in aid.elements] == [("economic buyer", ())]


def test_unknown_stage_raises(packs):
    with pytest.raises(StageNotFound):
        build_job_aid(_process("renewal"), "engage", packs)


def test_stage_job_aid_notes_are_carried(packs):
    process = _process("renewal")
    data = process.model_dump(mode="json", by_alias=True, exclude_none=True)
    data["stages"][0]["job_aid"] = "- Bring last year's **business case**."
    aid = build_job_aid(ProcessDef.model_validate(data), "value_realised", packs)
    assert aid.notes == "- Bring last year's **business case**."


def test_packs_folder_is_the_shipped_one():
    assert Path(PACKS_DIR).is_dir()
