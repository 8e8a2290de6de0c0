"""Playbook fixtures: a changed new-business file whose engage stage carries its own playbook."""

from __future__ import annotations

import pytest

from milepost.process.services import DEFAULTS_DIR


@pytest.fixture
def nb_text_with_playbook() -> str:
    text = (DEFAULTS_DIR / "new_business.yaml").read_text()
    marker = "    buyer_goal: The buyer recognises a problem or opportunity worth a conversation.\n"
    assert marker in text
    return text.replace(
        marker,
        marker + "    playbook: |\n      ## Version two playbook\n      Written in the file.\n",
    )
