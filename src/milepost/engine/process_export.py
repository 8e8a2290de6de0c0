"""A process definition back to YAML, canonically: the designer's export and download.

:func:`export_process` writes one text per definition whatever document it came from: keys in
the order the schema declares them, fields left at their default omitted (except the process's
currency and gate policy, which a reader wants to see), multi-line text as ``|`` block scalars,
no anchors or aliases. Two promises, tested as properties:

- ``export(parse(export(x))) == export(x)`` byte for byte (the export is a fixed point);
- ``parse(export(d))`` has the checksum of ``d`` (nothing is lost or changed in meaning).

Comments of the file a version was loaded from are not kept: the version stores the validated
document, not the text (``ProcessVersion.source_text`` keeps the original for that).
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

import yaml
from pydantic import BaseModel

from milepost.engine.process_schema import ProcessDef

_FLOAT = re.compile(r"-?[0-9]+\.[0-9]+")

# Shown even at their default value: they change how every deal is handled.
_ALWAYS_SHOWN = ("currency", "gate_policy")


class _Dumper(yaml.SafeDumper):
    """Safe YAML with block scalars for multi-line text and no aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # List items indented under their key, as people write them by hand.
        super().increase_indent(flow, False)


def _str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    # PyYAML falls back to a quoted style by itself when a block scalar cannot carry the text
    # exactly (trailing spaces on a line, special characters), so this never changes meaning.
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


def _decimal(dumper: yaml.SafeDumper, value: Decimal) -> yaml.ScalarNode:
    # A decimal in a rule (``value: 1500.5``) is written as a YAML number when reading that
    # number back gives the very same Decimal; otherwise (``1500.50``, ``1E+5``) as quoted text,
    # which the schema reads back as that exact Decimal.
    text = str(value)
    if _FLOAT.fullmatch(text) and str(Decimal(repr(float(text)))) == text:
        return dumper.represent_scalar("tag:yaml.org,2002:float", text)
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="'")


def _date(dumper: yaml.SafeDumper, value: date) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:timestamp", value.isoformat())


_Dumper.add_representer(str, _str)
_Dumper.add_representer(Decimal, _decimal)
_Dumper.add_representer(date, _date)


def _plain(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="python", by_alias=True, exclude_none=True, exclude_defaults=True)


def export_document(process: ProcessDef) -> dict[str, Any]:
    """The document :func:`export_process` writes, as plain data (dates and decimals kept)."""
    data = _plain(process)
    full = process.model_dump(mode="python", by_alias=True)
    ordered: dict[str, Any] = {}
    for name in ProcessDef.model_fields:
        if name in data:
            ordered[name] = data[name]
        elif name in _ALWAYS_SHOWN:
            ordered[name] = full[name]
    return ordered


def export_process(process: ProcessDef) -> str:
    """Canonical YAML text of ``process`` (see the module docstring for what it promises)."""
    text: str = yaml.dump(
        export_document(process),
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=100,
        default_flow_style=False,
    )
    return text
