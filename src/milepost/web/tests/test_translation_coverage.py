"""Templates show no English outside translation tags (docs/ui.md, "Translation").

A heuristic, not a parser of HTML: each template is split with Django's own lexer; text between
HTML tags (and the ``{{ }}`` variables inside it) that still holds letters once entities and
allow-listed brand names are removed must sit inside ``{% translate %}`` / ``{% blocktranslate %}``.
Attribute values (``title=``, ``placeholder=``) and ``{% if %}`` fragments are not checked.
Scoped to the directories swept so far (``SWEPT``); the failure names file, line and text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from django.template.base import DebugLexer, TokenType

import milepost

ROOT = Path(milepost.__file__).parent
# Brand and product names read the same in every language.
ALLOWLIST = ("Milepost", "HTMX", "YAML", "OpenAPI", "CSV")
# Directories (relative to the package) whose templates are fully marked; grow as apps are swept.
SWEPT = tuple(
    f"{app}/templates/"
    for app in (
        "accounts",
        "coaching",
        "deals",
        "designer",
        "evidence",
        "imports",
        "inspection",
        "methodology",
        "pipeline",
        "playbooks",
        "process",
        "security",
        "team",
        "web",
    )
)
SKIP_BLOCKS = {
    "comment": "endcomment",
    "verbatim": "endverbatim",
    "blocktranslate": "endblocktranslate",
    "blocktrans": "endblocktrans",
}
ENTITY = re.compile(r"&#?\w+;")
# Attributes a person reads or hears; their literal text must be marked too.
ATTRIBUTE = re.compile(
    r'\b(?:title|placeholder|aria-label|alt|hx-confirm)="((?:{%.*?%}|{{.*?}}|[^"])*)"'
)
TEMPLATE_TAG = re.compile(r"{%.*?%}|{{.*?}}", re.S)
MARKED = re.compile(r"{% blocktranslate.*?{% endblocktranslate %}", re.S)
LITERAL_ELEMENTS = {"code", "kbd", "samp", "pre"}
LETTER = re.compile(r"[^\W\d_]")


@dataclass
class Run:
    """Text outside HTML tags plus the variables inside it, up to the next tag of either kind."""

    parts: list[tuple[str, str, int]] = field(default_factory=list)  # (kind, text, offset)

    def visible(self) -> str:
        text = " ".join(t for kind, t, _ in self.parts if kind == "text")
        text = ENTITY.sub(" ", text)
        for name in ALLOWLIST:
            text = text.replace(name, " ")
        return text

    def needs_marking(self) -> bool:
        visible = self.visible().strip()
        return not visible.startswith('{"') and bool(LETTER.search(visible))  # JSON is config


def runs(source: str, *, html: bool = True) -> list[Run]:
    """Split a template into runs of visible text; tags and comments end a run.

    Text inside ``<code>``, ``<kbd>``, ``<samp>`` and ``<pre>`` is a literal (a command, a
    header) and is left out.
    """
    found: list[Run] = []
    run = Run()
    in_tag, quote, skip_until, tag, literal = False, "", "", "", 0

    def flush() -> None:
        nonlocal run
        if run.parts and not literal:
            found.append(run)
        run = Run()

    for token in DebugLexer(source).tokenize():
        start = token.position[0]
        if skip_until:
            if token.token_type == TokenType.BLOCK and token.contents.split()[0] == skip_until:
                skip_until = ""
            continue
        if token.token_type == TokenType.BLOCK:
            flush()
            skip_until = SKIP_BLOCKS.get(token.contents.split()[0], "")
        elif token.token_type == TokenType.COMMENT:
            flush()
        elif token.token_type == TokenType.VAR:
            if in_tag:
                tag += " "
            else:
                run.parts.append(("var", token.contents, start))
        else:
            piece, piece_at = "", start
            for index, char in enumerate(token.contents):
                if in_tag:
                    if quote:
                        quote = "" if char == quote else quote
                    elif char in "\"'":
                        quote = char
                    elif char == ">":
                        in_tag = False
                        name = tag.split(maxsplit=1)[0].lower() if tag.strip() else ""
                        if name.lstrip("/") in LITERAL_ELEMENTS:
                            literal += -1 if name.startswith("/") else 1
                    else:
                        tag += char
                elif html and char == "<":
                    if piece:
                        run.parts.append(("text", piece, piece_at))
                        piece = ""
                    flush()
                    in_tag, tag = True, ""
                else:
                    if not piece:
                        piece_at = start + index
                    piece += char
            if piece:
                run.parts.append(("text", piece, piece_at))
    flush()
    return found


def _templates() -> list[Path]:
    paths = [*ROOT.rglob("templates/**/*.html"), *ROOT.rglob("templates/**/*.txt")]
    return sorted(p for p in paths if str(p.relative_to(ROOT)).startswith(SWEPT))


def _bare_attribute(value: str) -> bool:
    """True when an attribute value shows letters outside any translation or template tag."""
    value = MARKED.sub("", value)
    return bool(LETTER.search(TEMPLATE_TAG.sub("", value)))


def _offences() -> list[str]:
    found = []
    for path in _templates():
        source = path.read_text()
        for run in runs(source, html=path.suffix == ".html"):
            if run.needs_marking():
                line = source.count("\n", 0, run.parts[0][2]) + 1
                found.append(f"{path.relative_to(ROOT)}:{line}: {run.visible().strip()[:60]!r}")
        for match in ATTRIBUTE.finditer(source):
            if _bare_attribute(match.group(1)):
                line = source.count("\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(ROOT)}:{line}: {match.group(0)[:60]!r}")
    return found


def test_swept_templates_mark_every_visible_string():
    assert SWEPT, "no directory is checked"
    assert _offences() == []


def test_the_heuristic_flags_bare_english_and_passes_marked_text():
    bare = '<p class="x">Save {{ deal.name }}</p><span>&rarr; Milepost</span>'
    marked = (
        '{% load i18n %}<p title="t">{% translate "Save" %}</p>{# Note #}'
        "{% blocktranslate with n=deal.name %}Open {{ n }}{% endblocktranslate %}"
        "{% comment %}Prose{% endcomment %}<b>{{ deal.name }}</b> &middot; 3"
        "<code>milepost run</code>"
    )
    assert [r.visible().strip() for r in runs(bare) if r.needs_marking()] == ["Save"]
    assert [r for r in runs(marked) if r.needs_marking()] == []
    assert _bare_attribute("Move {{ s.label }} up")
    assert not _bare_attribute('{% translate "Close" %}')
    assert not _bare_attribute(
        "{% blocktranslate with n=s.label %}Move {{ n }}{% endblocktranslate %}"
    )
