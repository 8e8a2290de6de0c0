"""A stage's job aid as a one-page PDF (fpdf2, core fonts: nothing to install or bundle).

Core PDF fonts only cover Latin-1, so text is transliterated first (curly quotes, dashes,
bullets, arrows ...) and anything else degrades to its closest ASCII or "?" rather than
failing. The page must stay one page: the layout is tried at decreasing font sizes, and at the
smallest size whatever does not fit is cut with a note pointing to the playbook.
"""

from __future__ import annotations

import unicodedata

from fpdf import FPDF

from milepost.playbooks.job_aid import JobAid
from milepost.playbooks.render import plain_lines

FONT = "Helvetica"
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


def latin1(text: str) -> str:
    """``text`` made printable with a core font: Latin-1 kept, the rest transliterated."""
    out: list[str] = []
    for char in text:
        if ord(char) < 256:
            out.append(char)
        elif char in _REPLACEMENTS:
            out.append(_REPLACEMENTS[char])
        else:
            decomposed = unicodedata.normalize("NFKD", char)
            kept = "".join(c for c in decomposed if ord(c) < 256 and not unicodedata.combining(c))
            out.append(kept or "?")
    return "".join(out)


class _Full(Exception):
    """The page is full (raised only in the final, truncating pass)."""


class _Page:
    """Writes the job aid onto one page at a given base font size."""

    def __init__(self, size: float, *, truncate: bool) -> None:
        self.size = size
        self.truncate = truncate
        self.pdf = FPDF(orientation="P", unit="mm", format="A4")
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

    def text(self, text: str, *, style: str = "", scale: float = 1.0, indent: float = 0.0) -> None:
        text = latin1(text)
        size = self.size * scale
        self.pdf.set_font(FONT, style=style, size=size)
        self._room(text, size=size, indent=indent)
        self.pdf.set_x(MARGIN + indent)
        self.pdf.multi_cell(
            self.pdf.w - 2 * MARGIN - indent, self.line * scale, text,
            new_x="LMARGIN", new_y="NEXT",
        )  # fmt: skip

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
        _write(page, aid)
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
    pdf.set_title(latin1(f"Job aid: {aid.title}"))
    pdf.set_author("Milepost")
    pdf.set_creator("Milepost")
