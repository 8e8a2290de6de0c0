"""Shipped methodology packs: they parse, carry the element keys others rely on, broken packs
are reported where the problem is, loading is idempotent, and a reload may not drop what a
current process uses."""

from __future__ import annotations

from pathlib import Path

import pytest

from milepost.engine.methodology_schema import check_process_packs, parse_methodology
from milepost.engine.process_schema import ProcessInvalid, parse_process
from milepost.engine.vocabulary import CORE_SKILLS
from milepost.process.models import MethodologyPack, ProcessVersion
from milepost.process.services import (
    DEFAULTS_DIR,
    PACKS_DIR,
    pack_load,
    pack_load_defaults,
    process_load_defaults,
)

SHIPPED = sorted(PACKS_DIR.glob("*.yaml"))

ELEMENTS = {
    "meddpicc": [
        "metrics",
        "economic_buyer",
        "decision_criteria",
        "decision_process",
        "paper_process",
        "implicated_pain",
        "champion",
        "competition",
    ],
    "spin": ["situation", "problem", "implication", "need_payoff"],
    "strategic_selling": [
        "single_sales_objective",
        "buying_influences",
        "win_results",
        "red_flags",
        "strengths",
        "possible_actions",
        "best_action",
    ],
    "bant": ["budget", "authority", "need", "timeline"],
    "challenger": ["commercial_insight", "tailoring", "taking_control"],
    "sandler": [
        "up_front_contract",
        "pain_funnel",
        "budget",
        "decision",
        "fulfillment",
        "post_sell",
    ],
    "command_of_message": [
        "before_scenarios",
        "after_scenarios",
        "negative_consequences",
        "positive_business_outcomes",
        "required_capabilities",
        "metrics",
        "proof_points",
        "differentiators",
    ],
}

SCALES = {
    "meddpicc": ("not_started", "partial", "confirmed"),
    "spin": ("not_explored", "explored", "buyer_articulated"),
}


def _shipped(key: str) -> str:
    return (PACKS_DIR / f"{key}.yaml").read_text()


def test_every_named_pack_is_shipped():
    assert {p.stem for p in SHIPPED} == set(ELEMENTS)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_pack_parses_and_every_element_is_usable(path: Path):
    pack = parse_methodology(path.read_text())
    assert pack.key == path.stem
    declared = {s.key for s in pack.skills} | set(CORE_SKILLS)
    for element in pack.elements:
        # A question bank, something to score against, and skills a coach can rate.
        assert len(element.questions) >= 3, element.key
        assert element.skills, element.key
        assert set(element.skills) <= declared, element.key
        assert element.red_flags, element.key
        assert all(level.rubric for level in pack.scale_of(element.key).levels), element.key


@pytest.mark.parametrize(
    ("pack", "element"), [(p, e) for p, elements in ELEMENTS.items() for e in elements]
)
def test_named_element_exists(pack: str, element: str):
    assert parse_methodology(_shipped(pack)).element(element).key == element


@pytest.mark.parametrize(("pack", "levels"), SCALES.items())
def test_pack_scale_levels(pack: str, levels: tuple[str, ...]):
    assert parse_methodology(_shipped(pack)).scale.keys == levels


def test_spin_has_a_real_question_bank_per_element():
    spin = parse_methodology(_shipped("spin"))
    assert all(5 <= len(e.questions) <= 8 for e in spin.elements)


def test_challenger_scores_zero_to_three_with_a_rubric_per_element_level():
    pack = parse_methodology(_shipped("challenger"))
    for element in pack.elements:
        scale = pack.scale_of(element.key)
        assert [lv.points for lv in scale.levels] == [0, 1, 2, 3]
        assert element.scale is not None  # its own rubric, not the pack's generic one


def test_strategic_selling_buying_influences():
    model = parse_methodology(_shipped("strategic_selling")).buying_influences
    assert model is not None
    assert [o.key for o in model.roles] == ["economic", "user", "technical", "coach"]
    assert [o.key for o in model.degrees] == ["high", "medium", "low"]
    assert [o.key for o in model.response_modes] == [
        "growth",
        "trouble",
        "even_keel",
        "overconfident",
    ]
    assert all(o.description for o in (*model.roles, *model.response_modes))
    assert (model.rating_min, model.rating_max) == (-5, 5)


def test_contact_elements_name_their_buying_roles():
    meddpicc = parse_methodology(_shipped("meddpicc"))
    assert meddpicc.element("economic_buyer").contact_roles == ["economic_buyer"]
    assert meddpicc.element("champion").contact_roles == ["champion"]
    assert next(f.type for f in meddpicc.element("economic_buyer").fields) == "contact"
    metric_fields = {f.key for f in meddpicc.element("metrics").fields}
    assert {"metric", "baseline", "target_value"} <= metric_fields


# ---------------------------------------------------------------------------------------------
# Broken packs: every problem named with its field and line.

SMALL = """\
key: tiny
name: Tiny
summary: A pack small enough to break on purpose.
scale:
  levels:
    - {key: low, label: Low, points: 0}
    - {key: high, label: High, points: 1}
elements:
  - key: first
    label: First
    summary: The first element of the tiny pack.
    skills: [active_listening]
  - key: second
    label: Second
    summary: The second element of the tiny pack.
"""


def _errors(text: str) -> list:
    with pytest.raises(ProcessInvalid) as info:
        parse_methodology(text)
    return info.value.errors


def test_small_pack_is_valid():
    assert [e.key for e in parse_methodology(SMALL).elements] == ["first", "second"]


@pytest.mark.parametrize(
    ("old", "new", "where", "what", "line"),
    [
        (
            "    skills: [active_listening]\n",
            "    skils: [active_listening]\n",
            "elements > [1] > skils",
            "unknown field",
            12,
        ),
        (
            "points: 1}",
            "points: 0}",
            "scale",
            "lowest first",
            4,
        ),
        (
            "skills: [active_listening]",
            "skills: [juggling]",
            "elements > [1] > skills > [1]",
            "unknown skill juggling",
            12,
        ),
        (
            "  - key: second\n",
            "  - key: first\n",
            "elements > [2] > key",
            "element keys repeat: first",
            13,
        ),
    ],
    ids=["unknown_field", "level_order", "unknown_skill", "duplicate_element"],
)
def test_invalid_pack_names_field_and_line(old, new, where, what, line):
    text = SMALL.replace(old, new)
    assert text != SMALL
    errors = _errors(text)
    assert len(errors) == 1
    (error,) = errors
    assert what in error.message
    assert (error.location, error.line) == (where, line)


def test_invalid_pack_reports_each_problem():
    text = SMALL.replace("skills: [active_listening]", "skills: [juggling]\n    colour: red")
    errors = _errors(text)
    assert any("colour" in e.location for e in errors)


# ---------------------------------------------------------------------------------------------
# Loading.


@pytest.mark.django_db
@pytest.mark.usefixtures("without_definitions")
def test_pack_load_is_idempotent():
    first = pack_load(text=_shipped("meddpicc"), source_name="meddpicc.yaml")
    assert first.created
    assert first.changed
    row = MethodologyPack.objects.get(key="meddpicc")
    again = pack_load(text="# a comment\n" + _shipped("meddpicc"), source_name="meddpicc.yaml")
    assert not again.created
    assert not again.changed
    same = MethodologyPack.objects.get(key="meddpicc")
    assert (same.pk, same.checksum, same.loaded_at) == (row.pk, row.checksum, row.loaded_at)
    assert MethodologyPack.objects.count() == 1


@pytest.mark.django_db
def test_pack_load_defaults_loads_every_shipped_pack_once():
    results = pack_load_defaults()
    assert sorted(r.pack.key for r in results) == sorted(ELEMENTS)
    assert not any(r.changed for r in pack_load_defaults())


def _without_element(text: str, key: str, next_key: str) -> str:
    start = text.index(f"  - key: {key}\n")
    end = text.index(f"  - key: {next_key}\n")
    return text[:start] + text[end:]


@pytest.mark.django_db
def test_a_changed_pack_that_drops_a_used_element_is_refused_and_writes_nothing():
    process_load_defaults()
    assert ProcessVersion.objects.filter(process__key="new_business", is_current=True).exists()
    before = MethodologyPack.objects.get(key="meddpicc")
    text = _without_element(_shipped("meddpicc"), "decision_process", "paper_process")
    assert "decision_process" not in text

    with pytest.raises(ProcessInvalid) as info:
        pack_load(text=text, source_name="meddpicc.yaml")

    messages = " ".join(str(e) for e in info.value.errors)
    assert "new_business" in messages
    assert "decision_process" in messages
    after = MethodologyPack.objects.get(key="meddpicc")
    assert (after.checksum, after.definition) == (before.checksum, before.definition)


@pytest.mark.django_db
def test_a_changed_pack_that_keeps_used_elements_is_stored():
    process_load_defaults()
    text = _shipped("bant").replace("name: BANT", "name: BANT (revised)")
    result = pack_load(text=text)
    assert result.changed
    assert not result.created
    assert MethodologyPack.objects.get(key="bant").name == "BANT (revised)"


# ---------------------------------------------------------------------------------------------
# A process against the packs.


def _packs() -> dict:
    return {p.stem: parse_methodology(p.read_text()) for p in SHIPPED}


def test_default_processes_fit_the_shipped_packs():
    for path in DEFAULTS_DIR.glob("*.yaml"):
        assert check_process_packs(parse_process(path.read_text()), _packs()) == [], path.name


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("  - pack: spin\n", "  - pack: spinn\n", "no methodology pack 'spinn'"),
        (
            "required: [economic_buyer, champion, decision_process]",
            "required: [economic_buyer, champion, decision_process, budget_holder]",
            "has no element 'budget_holder'",
        ),
        (
            "element: decision_process, at_least: confirmed",
            "element: decision_process, at_least: nailed",
            "'nailed' is not a level",
        ),
        (
            "element: decision_process, at_least",
            "element: decision_proces, at_least",
            "has no element 'decision_proces'",
        ),
    ],
    ids=["unknown_pack", "unknown_element", "unknown_level", "rule_unknown_element"],
)
def test_check_process_packs_reports_unknown_names(old, new, expected):
    original = (DEFAULTS_DIR / "new_business.yaml").read_text()
    text = original.replace(old, new)
    assert text != original
    if "spinn" in new:  # the stage mappings name the pack too; rename them with it
        text = text.replace("      spin:\n", "      spinn:\n")
    errors = check_process_packs(parse_process(text), _packs())
    assert len(errors) == 1, errors
    assert expected in errors[0].message
