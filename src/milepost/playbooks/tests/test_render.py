"""Playbook Markdown renders to HTML that keeps structure and drops anything executable."""

from __future__ import annotations

import pytest

from milepost.playbooks.render import (
    plain_lines,
    render_markdown,
    section_items,
    without_title,
)


@pytest.mark.parametrize(
    ("markdown", "forbidden"),
    [
        ("<script>alert('x')</script>Hello", ["<script", "alert("]),
        ('<img src="x" onerror="alert(1)">', ["onerror", "<img"]),
        ('<a href="javascript:alert(1)">click</a>', ["javascript:"]),
        ("[click](javascript:alert(1))", ['href="javascript:']),
        ('<a href="JaVaScRiPt:alert(1)">x</a>', ["javascript:", "JaVaScRiPt"]),
        ('<p style="color:red" onclick="steal()">hi</p>', ["style=", "onclick", "steal"]),
        ("<style>body{display:none}</style>text", ["<style", "display:none"]),
        ('<iframe src="https://evil.example"></iframe>', ["<iframe", "evil.example"]),
        ('<svg onload="alert(1)"><circle/></svg>', ["<svg", "onload"]),
        ('<form action="/x"><input name="a"></form>', ["<form", "<input"]),
        ('<a href="data:text/html,<script>x</script>">d</a>', ["data:", "<script"]),
        ('<div onmouseover="x()">hover</div>', ["onmouseover", "<div"]),
    ],
)
def test_sanitiser_drops_executable_and_styling_content(markdown, forbidden):
    html = render_markdown(markdown).html
    for needle in forbidden:
        assert needle.lower() not in html.lower(), (needle, html)


def test_links_keep_their_target_and_get_noopener():
    html = render_markdown("[Guide](https://example.com/guide)").html
    assert '<a href="https://example.com/guide" rel="noopener noreferrer">Guide</a>' in html


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("## Goals of the stage", '<h2 id="pb-goals-of-the-stage">Goals of the stage</h2>'),
        ("### Sub", "<h3>Sub</h3>"),
        ("- one\n- two", "<ul>\n<li>one</li>\n<li>two</li>\n</ul>"),
        ("1. one\n2. two", "<ol>\n<li>one</li>\n<li>two</li>\n</ol>"),
        ("**bold** and *em*", "<strong>bold</strong> and <em>em</em>"),
        ("`code`", "<code>code</code>"),
        ("> quoted", "<blockquote>"),
        ("| a | b |\n| --- | --- |\n| 1 | 2 |", "<td>1</td>"),
        ("| a | b |\n| --- | --- |\n| 1 | 2 |", "<th>a</th>"),
        ("```\nx = 1\n```", "<pre><code>x = 1"),
    ],
)
def test_structure_is_rendered(markdown, expected):
    assert expected in render_markdown(markdown).html


def test_second_level_headings_make_a_table_of_contents_with_unique_anchors():
    rendered = render_markdown("# Title\n## Goals\ntext\n## Goals\n## Question bank\n")
    assert [(h.anchor, h.text) for h in rendered.headings] == [
        ("pb-goals", "Goals"),
        ("pb-goals-x", "Goals"),
        ("pb-question-bank", "Question bank"),
    ]


def test_section_items_are_the_top_level_items_under_one_heading():
    text = (
        "## Question bank\n- First *one*?\n  - nested, left out\n- Second?\n\n"
        "### By topic\n1. Third?\n\n## Common mistakes\n- Not a question\n"
    )
    assert section_items(text, "question bank") == ["First one?", "Second?", "Third?"]
    assert section_items(text, "Common mistakes") == ["Not a question"]
    assert section_items(text, "Missing") == []


def test_plain_lines_flatten_markdown_for_the_pdf():
    assert plain_lines("# Head\nSome **bold** text\n\n- a\n  - b\n") == [
        "Head",
        "Some bold text",
        "- a",
        "  - b",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("# Engage\n\n## Goals\n", "## Goals\n"),
        ("\n# Engage\ntext", "text"),
        ("## Goals\n# Not first", "## Goals\n# Not first"),
        ("", ""),
    ],
)
def test_without_title_drops_only_a_leading_title(text, expected):
    assert without_title(text) == expected
