"""A stage's job aid as a one-page PDF (fpdf2, with embedded Unicode fonts).

Fonts (fpdf2 embeds only the glyphs a page uses, so the PDF stays small):

- FiraGO regular, bold and italic (SIL Open Font License 1.1), from the pinned PyPI package
  ``pymupdf-fonts``: Latin, Greek, Cyrillic, Arabic, Hebrew, Georgian, Thai, Devanagari and the
  usual punctuation, arrows and maths signs. The package ships the fonts as compressed Python
  modules; fpdf2 wants files, so they are written once per process to a private temporary
  folder.
- Droid Sans Fallback (Apache License 2.0), from Debian's ``fonts-droid-fallback`` (``bin/setup``
  installs it), for Chinese, Japanese and Korean: added to a document only when its text has
  characters FiraGO lacks (loading it takes about a second). Without it, such characters print
  as "?" and a warning is logged.

A character neither font has (an emoji, a check mark) is transliterated to its closest ASCII
(curly quotes, arrows, ticks ...) or "?" rather than failing. The page must stay one page: the
layout is tried at decreasing font sizes, and at the smallest size whatever does not fit is cut
with a note pointing to the playbook.
"""

from __future__ import annotations

import atexit
import functools
import io
import logging
import shutil
import tempfile
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pymupdf_fonts
from fontTools.ttLib import TTFont
from fpdf import FPDF

from milepost.playbooks.job_aid import JobAid
from milepost.playbooks.render import plain_lines

logger = logging.getLogger(__name__)

FONT = "FiraGO"
_FONT_KEYS = {"": "figo", "B": "figbo", "I": "figit"}  # pymupdf-fonts' names, by fpdf2 style
FALLBACK_FONT = "DroidSansFallback"
FALLBACK_FONT_FILES = (Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),)
SIZES = (10.0, 9.0, 8.0, 7.5, 7.0, 6.5)
MARGIN = 12.0

_REPLACEMENTS = {
    "\u2018": "'", "\u2019": "'", "\u201a": ",", "\u201b": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2032": "'", "\u2033": '"',
    "\u2013": "-", "\u2014": " - ", "\u2015": "-", "\u2212": "-", "\u2010": "-", "\u2011": "-",
    "\u2026": "...", "\u2022": "-", "\u2023": "-", "\u25cf": "-", "\u25aa": "-",
    "\u2192": "->", "\u2190": "<-", "\u21d2": "=>", "\u2194": "<->",
    "\u2713": "v", "\u2714": "v", "\u2717": "x", "\u2718": "x",
    "\u2264": "<=", "\u2265": ">=", "\u2260": "!=", "\u2248": "~",
    "\u20ac": "EUR", "\u2122": "(TM)", "\u00a0": " ", "\u202f": " ", "\u2009": " ",
    "\u200b": "", "\ufeff": "",
    # Letters with no Unicode decomposition to a base letter.
    "\u0141": "L", "\u0142": "l", "\u0110": "D", "\u0111": "d", "\u0131": "i",
    "\u0152": "OE", "\u0153": "oe",
}  # fmt: skip


def printable(text: str, covered: Callable[[str], bool]) -> str:
    """``text`` with every character ``covered`` kept and the rest transliterated (the table
    above, then the letters of its Unicode decomposition), or "?" when nothing fits."""
    out: list[str] = []
    for char in text:
        if covered(char):
            out.append(char)
        elif char in _REPLACEMENTS:
            out.append(_REPLACEMENTS[char])
        else:
            decomposed = unicodedata.normalize("NFKD", char)
            kept = "".join(c for c in decomposed if covered(c) and not unicodedata.combining(c))
            out.append(kept or "?")
    return "".join(out)


# Glyph substitution and positioning (ligatures, kerning) are applied only when fpdf2 shapes
# text with HarfBuzz, which a job aid does not do; subsetting them took most of each PDF's time.
_UNUSED_TABLES = ("GSUB", "GPOS", "GDEF", "kern")


def _font_files() -> dict[str, Path]:
    files = _written_font_files()
    if not all(path.is_file() for path in files.values()):  # a temp cleaner took them
        _written_font_files.cache_clear()
        files = _written_font_files()
    return files


@functools.cache
def _written_font_files() -> dict[str, Path]:
    folder = Path(tempfile.mkdtemp(prefix="milepost-fonts-"))  # private (0700), unguessable
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    files = {}
    for style, key in _FONT_KEYS.items():
        font = TTFont(io.BytesIO(pymupdf_fonts.myfont(key)))
        for table in _UNUSED_TABLES:
            if table in font:
                del font[table]
        files[style] = folder / f"{FONT}-{key}.ttf"
        font.save(files[style])
    return files


@functools.cache
def _characters(*paths: Path) -> frozenset[str]:
    """The characters every one of the font files has a glyph for."""
    cmaps = [set(TTFont(path, lazy=True).getBestCmap()) for path in paths]
    return frozenset(chr(code) for code in set.intersection(*cmaps))


def _fallback_file() -> Path | None:
    return next((path for path in FALLBACK_FONT_FILES if path.is_file()), None)


class _Full(Exception):
    """The page is full: the text spilled onto a second page (a pass at a larger size gives up
    at once, as building each PDF is no longer cheap) or, in the final truncating pass, the
    next block would not fit."""


class _Page:
    """Writes the job aid onto one page at a given base font size."""

    def __init__(self, size: float, *, truncate: bool) -> None:
        self.size = size
        self.truncate = truncate
        self.pdf = FPDF(orientation="P", unit="mm", format="A4")
        files = _font_files()
        for style, path in files.items():
            self.pdf.add_font(FONT, style=style, fname=path)
        self.characters = _characters(*files.values())
        self.fallback_tried = False
        self.pdf.set_margins(MARGIN, MARGIN, MARGIN)
        self.pdf.set_auto_page_break(auto=not truncate, margin=MARGIN)
        self.pdf.add_page()
        self.line = size * 0.45  # mm per line, roughly 1.3x the font size

    @property
    def bottom(self) -> float:
        return self.pdf.h - MARGIN

    def _room(self, text: str, *, size: float, indent: float) -> None:
        if not self.truncate:
            return
        width = self.pdf.w - 2 * MARGIN - indent
        self.pdf.set_font_size(size)
        lines = len(self.pdf.multi_cell(width, self.line, text, dry_run=True, output="LINES"))
        if self.pdf.get_y() + lines * self.line > self.bottom - self.line:
            raise _Full

    def printable(self, text: str) -> str:
        """``text`` as the page's fonts can print it (adding the CJK fallback when needed)."""
        if not self.fallback_tried and not set(text) <= self.characters:
            self.fallback_tried = True
            fallback = _fallback_file()
            if fallback is None:
                logger.warning(
                    "job aid: no font for %r; install Debian's fonts-droid-fallback",
                    "".join(sorted(set(text) - self.characters)),
                )
            else:
                self.pdf.add_font(FALLBACK_FONT, fname=fallback)
                # The fallback has one style: bold and italic text uses it too.
                self.pdf.set_fallback_fonts([FALLBACK_FONT], exact_match=False)
                self.characters |= _characters(fallback)
        return printable(text, self.characters.__contains__)

    def text(self, text: str, *, style: str = "", scale: float = 1.0, indent: float = 0.0) -> None:
        text = self.printable(text)
        size = self.size * scale
        self.pdf.set_font(FONT, style=style, size=size)
        self._room(text, size=size, indent=indent)
        self.pdf.set_x(MARGIN + indent)
        self.pdf.multi_cell(
            self.pdf.w - 2 * MARGIN - indent, self.line * scale, text,
            new_x="LMARGIN", new_y="NEXT",
        )  # fmt: skip
        if self.pdf.page_no() > 1:
            raise _Full

    def heading(self, text: str) -> None:
        self.gap(0.6)
        self.text(text.upper(), style="B", scale=0.95)
        y = self.pdf.get_y()
        self.pdf.set_draw_color(160, 160, 160)
        self.pdf.line(MARGIN, y, self.pdf.w - MARGIN, y)
        self.gap(0.3)

    def bullet(self, text: str, *, indent: float = 0.0, mark: str = "-") -> None:
        self.text(f"{mark} {text}", indent=indent + 2)

    def gap(self, lines: float) -> None:
        if self.truncate and self.pdf.get_y() + lines * self.line > self.bottom:
            raise _Full
        self.pdf.set_y(self.pdf.get_y() + lines * self.line)


def _write(page: _Page, aid: JobAid) -> None:
    version = f" v{aid.version}" if aid.version is not None else ""
    page.text(f"JOB AID - {aid.process_name}{version}", style="B", scale=0.8)
    page.text(aid.stage_label, style="B", scale=1.8)
    kind = {"open": "open stage", "won": "closed won", "lost": "closed lost"}.get(aid.kind, "")
    page.text(f"Stage {aid.position} of {aid.stage_count} ({kind})", scale=0.85)
    if aid.buyer_goal:
        page.gap(0.3)
        page.text(f"Buyer goal: {aid.buyer_goal}", style="I")
    if aid.exit_criteria:
        page.heading("Exit criteria (leave the stage only when all are true)")
        for c in aid.exit_criteria:
            page.bullet(f"{c.statement} - {c.verified_by}.", mark="[ ]")
    if aid.actions:
        page.heading("Top actions")
        for n, action in enumerate(aid.actions, start=1):
            page.bullet(action, mark=f"{n}.")
    if aid.elements:
        page.heading("Methodology at this stage")
        for e in aid.elements:
            page.text(f"{e.label} ({e.pack_name}, {e.need})", style="B", indent=2)
            for q in e.questions:
                page.bullet(q, indent=4)
    elif aid.questions:
        page.heading("Questions to ask")
        for q in aid.questions:
            page.bullet(q)
    if aid.mistakes:
        page.heading("Avoid")
        for m in aid.mistakes:
            page.bullet(m)
    notes = plain_lines(aid.notes)
    if notes:
        page.heading("Notes")
        for line in notes:
            page.text(line, indent=2 if line.startswith("-") else 0)


def job_aid_pdf(aid: JobAid) -> bytes:
    """The job aid as PDF bytes, always exactly one A4 page."""
    for size in SIZES:
        page = _Page(size, truncate=False)
        _set_meta(page.pdf, aid)
        try:
            _write(page, aid)
        except _Full:
            continue
        if page.pdf.page_no() == 1:
            return bytes(page.pdf.output())
    page = _Page(SIZES[-1], truncate=True)
    _set_meta(page.pdf, aid)
    try:
        _write(page, aid)
    except _Full:
        page.pdf.set_font(FONT, style="I", size=SIZES[-1])
        page.pdf.set_y(page.bottom - page.line)
        page.pdf.cell(text="(Cut to fit one page: the full text is in the stage's playbook.)")
    return bytes(page.pdf.output())


def _set_meta(pdf: FPDF, aid: JobAid) -> None:
    pdf.set_title(f"Job aid: {aid.title}")  # PDF metadata is Unicode (no font involved)
    pdf.set_author("Milepost")
    pdf.set_creator("Milepost")
