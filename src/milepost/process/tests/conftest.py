"""Process-file fixtures: the shipped new-business file and a changed copy of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from milepost.process.services import DEFAULTS_DIR


@pytest.fixture
def nb_text() -> str:
    return (DEFAULTS_DIR / "new_business.yaml").read_text()


@pytest.fixture
def nb_v2_text(nb_text) -> str:
    """New business with the evaluate stage at 40% and a renamed commit stage."""
    changed = nb_text.replace("probability: 35", "probability: 40").replace(
        "label: Commit to change", "label: Commit"
    )
    assert changed != nb_text
    return changed


@pytest.fixture
def write(tmp_path):
    """``write(name, text)`` puts a file in a temporary folder and returns its path as text."""

    def _write(name: str, text: str) -> str:
        path: Path = tmp_path / name
        path.write_text(text)
        return str(path)

    return _write
