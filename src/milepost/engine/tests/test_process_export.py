"""Export of a process back to YAML: canonical, a fixed point, and loses nothing.

The properties run on the shipped processes and on generated variations of them (renamed and
re-keyed stages, criteria with nested all/any/not rules, multi-line and non-ASCII text).
"""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from milepost.engine.process_export import export_process
from milepost.engine.process_schema import ProcessDef, parse_process
from milepost.engine.vocabulary import ACTIVITY_TYPES, BUYING_ROLES

DEFAULTS = Path(__file__).resolve().parents[2] / "process" / "defaults"
FILES = sorted(DEFAULTS.glob("*.yaml"))
BASES = {path.name: yaml.safe_load(path.read_text()) for path in FILES}


def _round_trip(definition: ProcessDef) -> None:
    text = export_process(definition)
    again = parse_process(text)
    assert again.checksum() == definition.checksum()
    assert again == definition
    assert export_process(again) == text


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_shipped_processes_round_trip(path):
    definition = parse_process(path.read_text())
    _round_trip(definition)
    # The stored (JSON) form validates back to the same document, and exports the same text.
    stored = ProcessDef.model_validate(definition.canonical())
    assert export_process(stored) == export_process(definition)


def test_export_is_canonical_yaml():
    definition = parse_process((DEFAULTS / "new_business.yaml").read_text())
    doc = copy.deepcopy(definition.canonical())
    doc["stages"][0]["playbook"] = "# Engage\n\n- first line\n- second: line\n"
    text = export_process(ProcessDef.model_validate(doc))
    assert text.startswith("key: new_business\nname: New business\n")
    top = [line.split(":")[0] for line in text.splitlines() if line and line[0].isalpha()]
    assert top == [name for name in ProcessDef.model_fields if name in top]
    assert top[:5] == ["key", "name", "description", "currency", "gate_policy"]
    assert "    playbook: |\n      # Engage\n\n      - first line\n" in text
    assert "&" not in text
    assert "*id" not in text
    stage = "\n" + text.split("  - key: engage\n", 1)[1]
    order = ["label:", "kind:", "buyer_phase:", "buyer_goal:", "probability:", "playbook:"]
    at = [stage.index(f"\n    {word}") for word in order]
    assert at == sorted(at)


def test_defaults_are_left_out_but_currency_and_gate_policy_are_shown():
    doc = {
        "key": "tiny",
        "name": "Tiny",
        "stages": [
            {
                "key": "talk",
                "label": "Talk",
                "kind": "open",
                "buyer_phase": "explore",
                "probability": 10,
                "forecast_category": "pipeline",
                "exit_criteria": [
                    {
                        "id": "met",
                        "statement": "The buyer met us",
                        "verifier": "rep",
                        "rule": {"contact_role": {"role": "champion", "min": 1}},
                    }
                ],
            },
            _closed("won"),
            _closed("lost"),
        ],
    }
    text = export_process(ProcessDef.model_validate(doc))
    assert "currency: USD\ngate_policy: warn\n" in text
    assert "min: 1" not in text
    assert "description" not in text
    assert "suggested_actions" not in text
    assert parse_process(text).checksum() == ProcessDef.model_validate(doc).checksum()


def test_dates_and_decimals_in_rules_keep_their_type():
    doc = copy.deepcopy(BASES["new_business.yaml"])
    doc["stages"][0]["exit_criteria"][1]["rule"] = {
        "all": [
            {"field_compare": {"field": "close_date", "op": "gte", "value": date(2030, 1, 31)}},
            {"field_compare": {"field": "amount", "op": "gt", "value": Decimal("1500.50")}},
            {"field_compare": {"field": "amount", "op": "lt", "value": Decimal("9.5")}},
            {"field_compare": {"field": "next_step", "op": "eq", "value": "2030-01-31"}},
        ]
    }
    definition = ProcessDef.model_validate(doc)
    text = export_process(definition)
    assert "value: 2030-01-31\n" in text
    assert "value: '1500.50'\n" in text  # as a YAML number it would come back as 1500.5
    assert "value: 9.5\n" in text
    assert "value: '2030-01-31'" in text  # text that looks like a date stays text
    _round_trip(definition)


# --- Generated variations ------------------------------------------------------------------

_LETTERS = st.characters(
    codec="utf-8",
    exclude_categories=("Cc", "Cs", "Co", "Cn", "Zl", "Zp"),
    exclude_characters="\ufeff",
)
_LINE = st.text(_LETTERS, min_size=1, max_size=40)
_TEXT = st.one_of(
    _LINE,
    st.lists(st.text(_LETTERS, max_size=30), min_size=2, max_size=5).map("\n".join),
    st.lists(_LINE, min_size=1, max_size=4).map(lambda lines: "\n".join(lines) + "\n"),
)
_SLUG = st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True)


def _leaf() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.sampled_from(["next_step", "account", "product"]).map(lambda f: {"field_set": f}),
        st.builds(
            lambda role, n: {"contact_role": {"role": role, "min": n}},
            st.sampled_from(BUYING_ROLES),
            st.integers(1, 3),
        ),
        st.builds(
            lambda n, d: {"contacts_engaged": {"min": n, "within_days": d}},
            st.integers(1, 5),
            st.integers(1, 365),
        ),
        st.builds(
            lambda types, days: {
                "activity": {"type": types, **({"within_days": days} if days else {})}
            },
            st.one_of(
                st.sampled_from(ACTIVITY_TYPES),
                st.lists(st.sampled_from(ACTIVITY_TYPES), min_size=1, max_size=3, unique=True),
            ),
            st.none() | st.integers(1, 90),
        ),
        st.builds(
            lambda op, v: {"field_compare": {"field": "amount", "op": op, "value": v}},
            st.sampled_from(["gt", "gte", "lt", "eq"]),
            st.integers(0, 10**9)
            | st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False),
        ),
        st.builds(
            lambda d: {"field_compare": {"field": "close_date", "op": "lte", "value": d}},
            st.dates(date(2000, 1, 1), date(2100, 1, 1)),
        ),
        st.builds(
            lambda v: {"field_compare": {"field": "next_step", "op": "ne", "value": v}},
            _LINE,
        ),
    )


_RULES = st.recursive(
    _leaf(),
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda rules: {"all": rules}),
        st.lists(inner, min_size=1, max_size=3).map(lambda rules: {"any": rules}),
        inner.map(lambda rule: {"not": rule}),
    ),
    max_leaves=6,
)


@st.composite
def _variations(draw: st.DrawFn) -> ProcessDef:
    doc = copy.deepcopy(BASES[draw(st.sampled_from(sorted(BASES)))])
    doc["description"] = draw(_TEXT)
    doc["gate_policy"] = draw(st.sampled_from(["block", "warn", "open"]))
    open_stages = [s for s in doc["stages"] if s["kind"] == "open"]
    for stage in doc["stages"]:
        if draw(st.booleans()):
            stage["label"] = draw(_LINE).strip() or "Stage"
        if draw(st.booleans()):
            stage["playbook"] = draw(_TEXT)
        if draw(st.booleans()):
            stage["job_aid"] = draw(_TEXT)
        if draw(st.booleans()):
            stage["buyer_goal"] = draw(_TEXT)
    # Re-key one open stage (the inspection settings may name it).
    victim = draw(st.sampled_from(open_stages))
    new_key = draw(_SLUG)
    assume(new_key not in {s["key"] for s in doc["stages"]})
    inspection = doc.get("inspection") or {}
    for name in ("single_threaded_from", "economic_buyer_by"):
        if inspection.get(name) == victim["key"]:
            inspection[name] = new_key
    victim["key"] = new_key
    # New criteria with generated rules on a few open stages.
    for n, stage in enumerate(draw(st.lists(st.sampled_from(open_stages), max_size=3))):
        stage.setdefault("exit_criteria", []).append(
            {
                "id": f"generated_{n}",
                "statement": "Generated: " + draw(_LINE),
                "verifier": draw(st.sampled_from(["rep", "manager", "buyer"])),
                "rule": draw(st.none() | _RULES),
                "evidence": draw(st.sampled_from([None, "required", "optional"])),
                "guidance": draw(st.just("") | _TEXT),
            }
        )
        stage["exit_criteria"][-1] = {
            k: v for k, v in stage["exit_criteria"][-1].items() if v is not None
        }
    if draw(st.booleans()):
        actions = draw(st.lists(_LINE, max_size=3))
        draw(st.sampled_from(open_stages))["suggested_actions"] = actions
    try:
        return ProcessDef.model_validate(doc)
    except ValidationError:
        assume(False)
        raise


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_variations())
def test_generated_variations_round_trip(definition):
    _round_trip(definition)
    # And through the stored JSON form, as the designer and the version pages read it.
    assert export_process(ProcessDef.model_validate(definition.canonical())) == export_process(
        definition
    )


def _closed(kind: str) -> dict[str, Any]:
    return {
        "key": kind,
        "label": kind.title(),
        "kind": kind,
        "buyer_phase": "purchase" if kind == "won" else "explore",
        "probability": 100 if kind == "won" else 0,
        "forecast_category": "closed" if kind == "won" else "omitted",
    }
