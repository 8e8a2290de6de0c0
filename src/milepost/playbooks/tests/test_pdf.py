"""The job-aid PDF: one page for every stage of the default processes, readable text."""

from __future__ import annotations

import dataclasses
import io
import re

import pytest
from pypdf import PdfReader

from milepost.engine.methodology_schema import parse_methodology
from milepost.engine.process_schema import parse_process
from milepost.playbooks.job_aid import build_job_aid
from milepost.playbooks.pdf import job_aid_pdf, latin1
from milepost.process.services import DEFAULTS_DIR, PACKS_DIR, with_playbook_files

PACKS = {
    pack.key: pack
    for pack in (parse_methodology(p.read_text()) for p in sorted(PACKS_DIR.glob("*.yaml")))
}
PROCESSES = {
    name: with_playbook_files(
        parse_process((DEFAULTS_DIR / f"{name}.yaml").read_text()), DEFAULTS_DIR
    )
    for name in ("new_business", "renewal")
}
STAGES = [(name, stage.key) for name, process in PROCESSES.items() for stage in process.stages]


def _text(pdf: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return len(reader.pages), re.sub(r"\s+", " ", text)


@pytest.mark.parametrize(("process_key", "stage_key"), STAGES)
def test_every_default_stage_is_one_page_with_label_and_exit_criteria(process_key, stage_key):
    process = PROCESSES[process_key]
    stage = next(s for s in process.stages if s.key == stage_key)
    pdf = job_aid_pdf(build_job_aid(process, stage_key, PACKS, version=1))
    assert pdf.startswith(b"%PDF")
    pages, text = _text(pdf)
    assert pages == 1
    assert stage.label in text
    for criterion in stage.exit_criteria:
        assert latin1(criterion.statement) in text


def test_overlong_content_is_cut_to_one_page_with_a_note():
    aid = build_job_aid(PROCESSES["new_business"], "commit", PACKS, version=1)
    notes = "\n".join(f"- Note {n}: keep the buyer's words in the recap." for n in range(400))
    pages, text = _text(job_aid_pdf(dataclasses.replace(aid, notes=notes)))
    assert pages == 1
    assert "Cut to fit one page" in text
    assert "Commit to change" in text


def test_text_outside_latin1_is_transliterated_not_an_error():
    aid = build_job_aid(PROCESSES["renewal"], "terms", PACKS, version=1)
    odd = dataclasses.replace(aid, stage_label="Agree “terms” — now → 価格 ✓")
    pages, text = _text(job_aid_pdf(odd))
    assert pages == 1
    assert 'Agree "terms" - now -> ?? v' in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\u201cquoted\u201d \u2018single\u2019", "\"quoted\" 'single'"),
        ("a \u2013 b \u2014 c", "a - b  -  c"),
        ("wait…", "wait..."),
        ("café déjà", "café déjà"),  # Latin-1 kept as is
        ("Łódź œuvre", "Lódz oeuvre"),  # ó is Latin-1; ź decomposes; Ł, œ by table
        ("≥ 3 • x", ">= 3 - x"),
        ("漢", "?"),
    ],
)
def test_latin1(text, expected):
    assert latin1(text) == expected
