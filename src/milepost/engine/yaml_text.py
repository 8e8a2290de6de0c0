"""Reading YAML that people type: fast (libyaml) and bounded.

Processes, methodology packs, the competency model and the history parameters are YAML. Sales-ops
admins also paste YAML into the designer and the competency editor, and YAML aliases let a few
hundred bytes expand into millions of nodes ("billion laughs"), while deep nesting exhausts the
parser's stack. So every text is first walked as a stream of parser events — which builds nothing
and recurses nowhere — and refused when it nests too deep, uses too many aliases or would expand
past a size budget. Only then is it loaded, with libyaml's C loader when PyYAML was built with it
(about ten times faster than the pure-Python loader on the shipped files).

Limits are refused with :class:`YamlTooComplex`, a :class:`yaml.YAMLError` with a position, so
every caller that already reports "not valid YAML: ..." reports the reason without a change.
"""

from __future__ import annotations

from typing import Any

import yaml

Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_DEPTH = 64
MAX_ALIASES = 200
MAX_NODES = 250_000


class YamlTooComplex(yaml.MarkedYAMLError):
    """The text is valid YAML but too deep, too aliased or too large once expanded."""


def check_limits(
    text: str,
    *,
    max_depth: int = MAX_DEPTH,
    max_aliases: int = MAX_ALIASES,
    max_nodes: int = MAX_NODES,
) -> None:
    """Raise :class:`YamlTooComplex` when ``text`` exceeds a limit; syntax errors propagate.

    ``nodes`` counts the document as it would be once loaded: an alias counts the whole subtree
    of its anchor, so an alias bomb is refused after a bounded amount of work.
    """
    nodes = 0
    aliases = 0
    anchored: dict[str, int] = {}
    # Node count when each open collection started, and its anchor.
    open_collections: list[tuple[int, str | None]] = []
    for event in yaml.parse(text, Loader=Loader):
        if isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > max_aliases:
                _refuse(event, f"more than {max_aliases} aliases")
            nodes += anchored.get(event.anchor or "", 1)
        elif isinstance(event, yaml.ScalarEvent):
            nodes += 1
            if event.anchor:
                anchored[event.anchor] = 1
        elif isinstance(event, yaml.CollectionStartEvent):
            nodes += 1
            open_collections.append((nodes, event.anchor))
            if len(open_collections) > max_depth:
                _refuse(event, f"nested more than {max_depth} levels deep")
        elif isinstance(event, yaml.CollectionEndEvent):
            started, anchor = open_collections.pop()
            if anchor:
                anchored[anchor] = nodes - started + 1
        if nodes > max_nodes:
            _refuse(event, f"more than {max_nodes:,} values once its aliases are expanded")


def _refuse(event: yaml.Event, problem: str) -> None:
    mark: Any = event.start_mark  # libyaml's Mark has the same fields as PyYAML's
    raise YamlTooComplex(problem=f"too complex: {problem}", problem_mark=mark)


def safe_load(text: str) -> Any:
    """Load ``text`` like :func:`yaml.safe_load`, within the limits above."""
    check_limits(text)
    return yaml.load(text, Loader=Loader)  # noqa: S506 - Loader is a safe loader


def compose(text: str) -> yaml.Node | None:
    """The node tree of ``text`` (for line numbers of errors), within the limits above."""
    check_limits(text)
    return yaml.compose(text, Loader=Loader)
