"""The bounded YAML reader: refuses alias bombs and deep nesting, loads everything else."""

from __future__ import annotations

import pytest
import yaml

from milepost.engine import yaml_text
from milepost.engine.process_schema import ProcessInvalid, parse_process


def _alias_bomb(lines: int) -> str:
    """Each line refers to the previous anchor nine times: 9**lines values from a few bytes."""
    text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for i in range(1, lines):
        this, previous = chr(97 + i), chr(96 + i)
        text += f"{this}: &{this} [{', '.join(['*' + previous] * 9)}]\n"
    return text


def test_loads_like_safe_load_with_anchors_and_dates():
    text = "when: 2026-12-07\nbase: &b {x: 1}\ncopy: *b\nlist: [1, two, 3.5, null, true]\n"
    assert yaml_text.safe_load(text) == yaml.safe_load(text)


def test_uses_the_c_loader_when_pyyaml_has_it():
    if getattr(yaml, "__with_libyaml__", False):
        assert yaml_text.Loader is yaml.CSafeLoader


@pytest.mark.parametrize("lines", [6, 9])
def test_an_alias_bomb_is_refused_with_its_position(lines):
    text = _alias_bomb(lines)
    assert len(text) < 60 * lines  # a few hundred bytes
    with pytest.raises(yaml_text.YamlTooComplex, match="once its aliases are expanded") as err:
        yaml_text.safe_load(text)
    assert err.value.problem_mark is not None
    assert err.value.problem_mark.line + 1 <= lines


def test_a_small_bomb_under_the_budget_still_loads():
    assert len(yaml_text.safe_load(_alias_bomb(3))["c"]) == 9


def test_too_many_aliases_are_refused_even_when_small():
    text = "a: &a 1\nb: [" + ", ".join(["*a"] * (yaml_text.MAX_ALIASES + 1)) + "]\n"
    with pytest.raises(yaml_text.YamlTooComplex, match="aliases"):
        yaml_text.safe_load(text)


@pytest.mark.parametrize("opener", ["[", "{a: "])
def test_deep_nesting_is_refused_not_a_recursion_error(opener):
    closer = "]" if opener == "[" else "}"
    text = opener * 100_000 + "1" + closer * 100_000
    with pytest.raises(yaml_text.YamlTooComplex, match="levels deep"):
        yaml_text.safe_load(text)


def test_nesting_at_the_limit_loads():
    depth = yaml_text.MAX_DEPTH
    assert yaml_text.safe_load("[" * depth + "]" * depth) is not None


def test_a_syntax_error_is_still_a_yaml_error():
    with pytest.raises(yaml.YAMLError):
        yaml_text.safe_load("a: [1, 2")


def test_a_process_file_bomb_is_a_listed_problem_not_a_crash():
    with pytest.raises(ProcessInvalid) as err:
        parse_process(_alias_bomb(9))
    assert "too complex" in str(err.value)
