"""The job-aid PDF: one page for every stage of the default processes, readable text in any
script (embedded Unicode fonts)."""

from __future__ import annotations

import dataclasses
import io
import logging
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from milepost.engine.methodology_schema import parse_methodology
from milepost.engine.process_schema import parse_process
from milepost.playbooks import pdf as pdf_module
from milepost.playbooks.job_aid import build_job_aid
from milepost.playbooks.pdf import job_aid_pdf, printable
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


def _fonts(pdf: bytes) -> set[str]:
    """The base names of the fonts embedded in the PDF, without fpdf2's subset prefix."""
    reader = PdfReader(io.BytesIO(pdf))
    fonts = reader.pages[0]["/Resources"]["/Font"]
    return {str(fonts[key].get_object()["/BaseFont"]).split("+")[-1] for key in fonts}


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
        assert re.sub(r"\s+", " ", criterion.statement) in text


def test_overlong_content_is_cut_to_one_page_with_a_note():
    aid = build_job_aid(PROCESSES["new_business"], "commit", PACKS, version=1)
    notes = "\n".join(f"- Note {n}: keep the buyer's words in the recap." for n in range(400))
    pages, text = _text(job_aid_pdf(dataclasses.replace(aid, notes=notes)))
    assert pages == 1
    assert "Cut to fit one page" in text
    assert "Commit to change" in text


@pytest.mark.parametrize(
    "label",
    [
        "Διαπραγμάτευση τιμής",  # Greek, with accents
        "价格谈判与合同",  # Chinese
        "Négociation \u2013 Zusammenfassung für Łódź",  # accented Latin, an en dash
    ],
)
def test_any_script_prints_as_written(label):
    aid = build_job_aid(PROCESSES["new_business"], "commit", PACKS, version=1)
    ascii_aid = dataclasses.replace(aid, stage_label="X", buyer_goal="The buyer agrees: X")
    stage = dataclasses.replace(aid, stage_label=label, buyer_goal=f"The buyer agrees: {label}")
    pdf = job_aid_pdf(stage)
    pages, text = _text(pdf)
    assert pages == 1
    assert label in text
    assert f"Buyer goal: The buyer agrees: {label}" in text
    # No character became "?": as many as the questions of the same aid with an ASCII label.
    assert text.count("?") == _text(job_aid_pdf(ascii_aid))[1].count("?")
    assert "FiraGO" in _fonts(pdf)
    assert len(pdf) < 150_000  # only the glyphs used are embedded


def test_chinese_needs_the_debian_fallback_font():
    """bin/setup installs Debian's fonts-droid-fallback; without it this test fails."""
    aid = build_job_aid(PROCESSES["renewal"], "terms", PACKS, version=1)
    pdf = job_aid_pdf(dataclasses.replace(aid, stage_label="续约条款"))
    assert pdf_module.FALLBACK_FONT in {f.replace("-", "") for f in _fonts(pdf)}
    assert "续约条款" in _text(pdf)[1]


def test_without_the_fallback_font_chinese_degrades_to_question_marks(monkeypatch, caplog):
    monkeypatch.setattr(pdf_module, "FALLBACK_FONT_FILES", (Path("/nonexistent/font.ttf"),))
    aid = build_job_aid(PROCESSES["renewal"], "terms", PACKS, version=1)
    with caplog.at_level(logging.WARNING, logger="milepost.playbooks.pdf"):
        pages, text = _text(job_aid_pdf(dataclasses.replace(aid, stage_label="Ανανέωση 价格")))
    assert pages == 1
    assert "Ανανέωση ??" in text
    assert "fonts-droid-fallback" in caplog.text


def test_characters_no_font_has_are_transliterated_not_an_error():
    aid = build_job_aid(PROCESSES["renewal"], "terms", PACKS, version=1)
    odd = dataclasses.replace(aid, stage_label="Agree “terms” — now → 価格 ✓ 🙂")
    pages, text = _text(job_aid_pdf(odd))
    assert pages == 1
    assert "Agree “terms” — now → 価格 v ?" in text


def _latin1(char: str) -> bool:
    return ord(char) < 256


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\u201cquoted\u201d \u2018single\u2019", "\"quoted\" 'single'"),
        ("a \u2013 b \u2014 c", "a - b  -  c"),
        ("wait…", "wait..."),
        ("café déjà", "café déjà"),  # covered: kept as is
        ("Łódź œuvre", "Lódz oeuvre"),  # ó is covered; ź decomposes; Ł, œ by table
        ("≥ 3 • x", ">= 3 - x"),
        ("漢", "?"),
    ],
)
def test_printable_transliterates_what_the_fonts_lack(text, expected):
    assert printable(text, _latin1) == expected


def test_fonts_removed_by_a_temp_cleaner_are_written_again():
    for path in pdf_module._font_files().values():
        path.unlink()
    aid = build_job_aid(PROCESSES["renewal"], "terms", PACKS, version=1)
    assert _text(job_aid_pdf(dataclasses.replace(aid, stage_label="Όροι")))[1].count("Όροι") == 1
