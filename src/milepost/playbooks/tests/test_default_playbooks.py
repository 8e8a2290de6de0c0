"""The shipped playbooks: one per stage of each default process, with every section."""

from __future__ import annotations

import pytest

from milepost.engine.process_schema import ProcessDef
from milepost.playbooks.render import render_markdown, section_items
from milepost.process.models import ProcessVersion
from milepost.process.services import DEFAULTS_DIR

pytestmark = pytest.mark.django_db

SECTIONS = [
    "Goals of the stage",
    "The buyer's perspective",
    "Exit criteria explained",
    "Suggested actions",
    "Question bank",
    "Objection handling",
    "Call-planning template",
    "Common mistakes",
]


def _stored(key: str) -> ProcessDef:
    version = ProcessVersion.objects.get(process__key=key, is_current=True)
    return ProcessDef.model_validate(version.definition)


@pytest.mark.parametrize("key", ["new_business", "renewal"])
def test_every_stage_has_a_playbook_with_every_section_after_loading_defaults(processes, key):
    for stage in _stored(key).stages:
        rendered = render_markdown(stage.playbook)
        assert [h.text for h in rendered.headings] == SECTIONS, stage.key
        assert rendered.html.startswith(f"<h1>{stage.label}</h1>"), stage.key
        minimum = 60 if stage.kind == "open" else 30
        assert len(stage.playbook.splitlines()) >= minimum, stage.key


VERIFIED_BY = {
    "buyer": ("confirmed by the buyer", "confirmed by the customer"),
    "rep": ("verified by you",),
    "manager": ("verified by your manager",),
}


@pytest.mark.parametrize("key", ["new_business", "renewal"])
def test_open_stage_playbooks_explain_each_exit_criterion_and_who_verifies(processes, key):
    """One item per criterion, in order, saying who verifies it as the process file does."""
    for stage in _stored(key).open_stages:
        items = section_items(stage.playbook, "Exit criteria explained")
        assert len(items) == len(stage.exit_criteria), stage.key
        for item, criterion in zip(items, stage.exit_criteria, strict=True):
            assert any(words in item for words in VERIFIED_BY[criterion.verifier]), (
                stage.key,
                criterion.id,
            )


def test_no_playbook_file_is_orphaned():
    """A renamed stage must take its playbook file along (else the text silently vanishes)."""
    for folder in DEFAULTS_DIR.glob("*/playbooks"):
        process_key = folder.parent.name
        text = (DEFAULTS_DIR / f"{process_key}.yaml").read_text()
        for path in folder.glob("*.md"):
            assert f"key: {path.stem}\n" in text, path
