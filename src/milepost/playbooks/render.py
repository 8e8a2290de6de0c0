"""Playbook Markdown to safe HTML, and plain-text views of it for job aids.

Playbooks are written by sales-ops admins (process files, the process designer), so their
Markdown is trusted as *text* but not as HTML: raw HTML is allowed through the parser and then
everything goes through an allow-list sanitiser (nh3). Anything not listed (scripts, styles,
event handlers, ``javascript:`` links, iframes, forms) is dropped. No Django here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

# What a playbook may use: text structure, tables, links and a few inline marks. No images (a
# remote image is a tracking pixel), no forms, no embedded content.
ALLOWED_TAGS: frozenset[str] = frozenset(
    {
        "h1", "h2", "h3", "h4", "h5", "h6",
        "p", "br", "hr", "blockquote", "pre", "code",
        "ul", "ol", "li", "dl", "dt", "dd",
        "strong", "em", "b", "i", "s", "del", "mark", "kbd", "sub", "sup", "small", "abbr",
        "table", "thead", "tbody", "tr", "th", "td", "caption",
        "a", "details", "summary",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "ol": {"start"},
    "th": {"align", "scope"},
    "td": {"align"},
    "h2": {"id"},
    "h3": {"id"},
}
ALLOWED_URL_SCHEMES: frozenset[str] = frozenset({"http", "https", "mailto"})
# Dropped together with their content (the text of a script is not playbook prose).
DROPPED_WITH_CONTENT: frozenset[str] = frozenset({"script", "style", "iframe", "object", "embed"})
ID_PREFIX = "pb-"


@dataclass(frozen=True)
class Heading:
    """A second-level heading of a playbook, for its table of contents."""

    anchor: str
    text: str


@dataclass(frozen=True)
class Rendered:
    html: str
    headings: tuple[Heading, ...]


def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True, "linkify": False}).enable("table")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


def render_markdown(text: str) -> Rendered:
    """Markdown -> sanitised HTML, with anchors on ``##`` headings for a table of contents."""
    md = _parser()
    tokens = md.parse(text or "")
    headings: list[Heading] = []
    seen: set[str] = set()
    for i, token in enumerate(tokens):
        if token.type == "heading_open" and token.tag == "h2":
            title = tokens[i + 1].content.strip()
            anchor = ID_PREFIX + _slug(title)
            while anchor in seen:
                anchor += "-x"
            seen.add(anchor)
            token.attrSet("id", anchor)
            headings.append(Heading(anchor=anchor, text=title))
    html = md.renderer.render(tokens, md.options, {})
    return Rendered(html=sanitize_html(html), headings=tuple(headings))


def without_title(text: str) -> str:
    """``text`` without a leading ``# Title`` line: pages that show the stage as their own
    heading keep a single ``<h1>``."""
    stripped = (text or "").lstrip()
    if stripped.startswith("# "):
        return stripped.partition("\n")[2].lstrip("\n")
    return text


def sanitize_html(html: str) -> str:
    """Keep only the allow-listed tags, attributes and URL schemes; links get rel=noopener."""
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(ALLOWED_URL_SCHEMES),
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


def section_items(text: str, heading: str) -> list[str]:
    """The list items (plain text) under the ``##`` heading named ``heading``, in order.

    Job aids reuse a playbook's question bank or common mistakes without a second copy.
    Top-level items only; nested items and prose are left out.
    """
    tokens = _parser().parse(text or "")
    items: list[str] = []
    inside = False
    depth = 0
    for i, token in enumerate(tokens):
        if token.type == "heading_open" and token.tag in ("h1", "h2"):
            inside = tokens[i + 1].content.strip().lower() == heading.strip().lower()
            continue
        if not inside:
            continue
        if token.type in ("bullet_list_open", "ordered_list_open"):
            depth += 1
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            depth -= 1
        elif token.type == "inline" and depth == 1 and _in_list_item(tokens, i):
            items.append(plain_inline(token))
    return items


def _in_list_item(tokens: list[Token], i: int) -> bool:
    # An item's first paragraph is preceded by list_item_open, paragraph_open.
    return i >= 2 and tokens[i - 2].type == "list_item_open"


def plain_inline(token: Token) -> str:
    """The text of an inline token without Markdown marks (for PDFs and plain summaries)."""
    parts: list[str] = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return re.sub(r"\s+", " ", "".join(parts)).strip()


def plain_lines(text: str) -> list[str]:
    """Markdown as plain lines: one per paragraph, heading or list item (items get "- ")."""
    tokens = _parser().parse(text or "")
    lines: list[str] = []
    depth = 0
    for i, token in enumerate(tokens):
        if token.type in ("bullet_list_open", "ordered_list_open"):
            depth += 1
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            depth -= 1
        elif token.type == "inline":
            content = plain_inline(token)
            if not content:
                continue
            if depth and _in_list_item(tokens, i):
                lines.append("  " * (depth - 1) + "- " + content)
            else:
                lines.append(content)
        elif token.type in ("fence", "code_block"):
            lines.extend(line for line in token.content.splitlines() if line.strip())
    return lines
