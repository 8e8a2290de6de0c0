"""The shipped competency model: it parses, every indicator points at criteria, stages, elements,
levels, signals and competencies that exist, a broken model says where, and the default model
finds the gaps the issue describes. Pack coaching questions are there for the packs the default
process uses."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from milepost.engine.competency_schema import CompetencyModelDef, parse_competency_model
from milepost.engine.criteria_frames import STATUS
from milepost.engine.methodology_schema import MethodologyDef, parse_methodology
from milepost.engine.process_schema import SIGNALS, ProcessDef, ProcessInvalid, parse_process
from milepost.engine.skill_gaps import indicator_hits, skill_gaps
from milepost.engine.vocabulary import CORE_SKILLS

SRC = Path(__file__).resolve().parents[3]
MODEL_PATH = SRC / "coaching" / "defaults" / "competencies.yaml"
PROCESS_PATH = SRC / "process" / "defaults" / "new_business.yaml"
PACKS_DIR = SRC / "process" / "packs"
TEXT = MODEL_PATH.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def default_model() -> CompetencyModelDef:
    return parse_competency_model(TEXT)


@pytest.fixture(scope="module")
def process() -> ProcessDef:
    return parse_process(PROCESS_PATH.read_text())


@pytest.fixture(scope="module")
def packs() -> dict[str, MethodologyDef]:
    return {p.stem: parse_methodology(p.read_text()) for p in sorted(PACKS_DIR.glob("*.yaml"))}


def test_the_six_core_competencies_with_descriptions(default_model: CompetencyModelDef) -> None:
    core = [c for c in default_model.competencies if c.source == "core"]
    assert [c.key for c in core] == list(CORE_SKILLS)
    assert all(len(c.description) > 40 for c in core)


def test_every_core_competency_has_an_indicator(default_model: CompetencyModelDef) -> None:
    pointed = {c for i in default_model.indicators for c in i.competencies}
    assert set(CORE_SKILLS) <= pointed


def test_indicator_criteria_and_stages_exist_in_the_default_process(
    default_model: CompetencyModelDef, process: ProcessDef
) -> None:
    criteria = {c.id for s in process.stages for c in s.exit_criteria}
    open_stages = {s.key for s in process.stages if s.kind == "open"}
    for indicator in default_model.indicators:
        if indicator.when.criterion_unmet is not None:
            assert indicator.when.criterion_unmet in criteria, indicator.key
        assert set(indicator.stages) <= open_stages, indicator.key


def test_indicator_elements_and_levels_exist_in_packs_the_process_uses(
    default_model: CompetencyModelDef, process: ProcessDef, packs: dict[str, MethodologyDef]
) -> None:
    used = {m.pack for m in process.methodologies}
    below = [i for i in default_model.indicators if i.when.element_below is not None]
    assert below, "the default model uses methodology elements"
    for indicator in below:
        ref = indicator.when.element_below
        assert ref is not None
        assert ref.pack in used, indicator.key
        pack = packs[ref.pack]
        assert ref.element in {e.key for e in pack.elements}, indicator.key
        if ref.level is not None:
            assert ref.level in pack.scale_of(ref.element).keys, indicator.key


def test_indicator_signals_exist(default_model: CompetencyModelDef) -> None:
    signals = [i.when.signal for i in default_model.indicators if i.when.signal]
    assert signals
    assert set(signals) <= set(SIGNALS)


def test_indicator_competencies_are_known(
    default_model: CompetencyModelDef, process: ProcessDef, packs: dict[str, MethodologyDef]
) -> None:
    in_use = [packs[m.pack] for m in process.methodologies]
    known = [c.key for c in default_model.with_pack_skills(in_use)]
    assert default_model.check_indicators(known) == []
    # Core skills alone suffice, so the model stays valid whichever packs a process turns on.
    assert default_model.check_indicators(CORE_SKILLS) == []


def test_an_unknown_competency_is_reported(default_model: CompetencyModelDef) -> None:
    broken = parse_competency_model(
        TEXT.replace("competencies: [objection_handling]", "competencies: [juggling]", 1)
    )
    [error] = broken.check_indicators(CORE_SKILLS)
    assert "juggling" in error.message
    assert "stalled_late" in error.location


@pytest.mark.parametrize(
    ("old", "new", "where", "what", "at"),
    [
        (
            "when: {signal: no_next_step}",
            "when: {signal: no_next_steps}",
            "indicators > [13] > when",
            "unknown signal 'no_next_steps'",
            "no_next_steps",
        ),
        (
            "  - key: stalled_late\n    label:",
            "  - key: stalled_late\n    labl:",
            "indicators > [10] > labl",
            "unknown field 'labl'",
            "labl:",
        ),
        (
            "  min_ratio: 1.25",
            "  min_ratio: 0.5",
            "thresholds > min_ratio",
            "greater than or equal to 1",
            "min_ratio: 0.5",
        ),
        (
            "when: {criterion_unmet: decision_process_shared}",
            "when: {criterion_unmet: decision_process_shared, signal: no_next_step}",
            "indicators > [9] > when",
            "name exactly one of",
            "decision_process_shared, signal",
        ),
        (
            "    stages: [justify, negotiate]\n    competencies: [objection_handling]\n",
            "    stages: justify\n    competencies: [objection_handling]\n",
            "indicators > [10] > stages",
            "valid list",
            "stages: justify",
        ),
    ],
    ids=["unknown_signal", "unknown_field", "threshold", "two_facts", "stages_not_a_list"],
)
def test_a_broken_model_names_field_and_line(
    old: str, new: str, where: str, what: str, at: str
) -> None:
    assert TEXT.count(old) == 1
    text = TEXT.replace(old, new)
    with pytest.raises(ProcessInvalid) as info:
        parse_competency_model(text)
    expected_line = next(n for n, line in enumerate(text.splitlines(), 1) if at in line)
    matching = [e for e in info.value.errors if e.location == where]
    assert matching, [str(e) for e in info.value.errors]
    assert what in matching[0].message
    assert matching[0].line == expected_line


def test_a_missing_core_competency_is_reported() -> None:
    text = TEXT.replace("  - key: disarming\n", "  - key: disarmin\n")
    with pytest.raises(ProcessInvalid) as info:
        parse_competency_model(text)
    assert any("disarming" in e.message and e.line for e in info.value.errors)


# --- The default model on a team: the example -------------------------------------------


def test_the_default_model_flags_access_to_power(default_model: CompetencyModelDef) -> None:
    """Rep 1 has no engaged economic buyer on 4 of 5 late deals; the team on 1 of 10."""
    rows = [(i, 1, "justify", "unmet" if i <= 4 else "met") for i in range(1, 6)]
    rows += [(100 + i, 2 + i % 3, "evaluate", "unmet" if i == 0 else "met") for i in range(10)]
    deals = pl.DataFrame(
        [r[:3] for r in rows],
        schema={"opportunity_id": pl.Int64, "owner_id": pl.Int64, "stage_key": pl.String},
        orient="row",
    )
    statuses = pl.DataFrame(
        [(r[0], "economic_buyer_engaged", r[3]) for r in rows],
        schema={"opportunity_id": pl.Int64, "criterion_id": pl.String, "status": STATUS},
        orient="row",
    )
    signals = pl.DataFrame(schema={"opportunity_id": pl.Int64, "signal": pl.String})
    # Everyone has the MEDDPICC economic buyer confirmed, so only the criterion differs.
    elements = pl.DataFrame(
        [(r[0], "meddpicc", "economic_buyer", "confirmed") for r in rows],
        schema={
            "opportunity_id": pl.Int64,
            "pack": pl.String,
            "element": pl.String,
            "level": pl.String,
        },
        orient="row",
    )
    scales = {("meddpicc", "economic_buyer"): ("not_started", "partial", "confirmed")}
    hits = indicator_hits(deals, statuses, signals, elements, scales, default_model)
    gaps = skill_gaps(hits, default_model)
    assert [(g.rep_id, g.indicator) for g in gaps] == [(1, "economic_buyer_not_engaged_late")]
    assert gaps[0].competencies == ("business_acumen",)
    assert "access to power" in gaps[0].focus.lower()


# --- Coaching questions in the packs ------------------------------------------------------------


@pytest.mark.parametrize("pack_key", ["meddpicc", "spin", "strategic_selling"])
def test_every_element_has_coaching_questions(
    pack_key: str, packs: dict[str, MethodologyDef]
) -> None:
    pack = packs[pack_key]
    for element in pack.elements:
        questions = element.coaching_questions
        assert 1 <= len(questions) <= 3, element.key
        assert all(q.endswith("?") for q in questions), element.key
        # Coaching questions are for the rep, not a copy of the buyer question bank.
        assert not set(questions) & set(element.questions), element.key


def test_every_shipped_pack_has_coaching_questions(packs: dict[str, MethodologyDef]) -> None:
    missing = [
        f"{key}.{e.key}" for key, p in packs.items() for e in p.elements if not e.coaching_questions
    ]
    assert missing == []
