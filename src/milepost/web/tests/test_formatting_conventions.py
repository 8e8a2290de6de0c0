"""Templates show numbers, dates and plurals only through the formatting filters (docs/ui.md).

A new template that formats by hand (``|date:"M j"``, ``floatformat``, ``x{{ n|pluralize }}``,
"(s)") fails here, naming the file and the offending text.
"""

from __future__ import annotations

import re
from pathlib import Path

import milepost

ROOT = Path(milepost.__file__).parent
MACHINE_DATES = {"c", "Y-m-d", "U"}  # ISO for <time datetime>, inputs and data attributes
RULES = {
    "a hand-made date format (use date_short / date_long / datetime_short)": re.compile(
        r"\|date:[\"']([^\"']*)[\"']"
    ),
    "floatformat / intcomma / widthratio (use number / money / percent / share)": re.compile(
        r"\|floatformat|\|intcomma|\{% widthratio"
    ),
    "pluralize (use {% blocktranslate count %})": re.compile(r"\|pluralize"),
    "'(s)' (use {% blocktranslate count %})": re.compile(r"\w\(s\)"),
}


def _offences() -> list[str]:
    found = []
    for path in sorted([*ROOT.rglob("templates/**/*.html"), *ROOT.rglob("templates/**/*.txt")]):
        text = path.read_text()
        for rule, pattern in RULES.items():
            for match in pattern.finditer(text):
                if match.groups() and match.group(1) in MACHINE_DATES:
                    continue
                found.append(f"{path.relative_to(ROOT)}: {match.group(0)!r}: {rule}")
    return found


def test_templates_format_through_the_filters():
    assert _offences() == []
