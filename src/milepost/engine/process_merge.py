"""Three-way merge of process documents: re-apply a draft's changes onto a newer version.

A draft was started from version N (the *base*); meanwhile version N+1 was published (*theirs*);
the draft (*ours*) holds the admin's edits. :func:`merge_processes` keeps every change either
side made since the base and reports a :class:`Conflict` where both changed the same thing
differently. It works on the plain JSON documents (a draft may be invalid while being edited):

- mappings merge key by key, recursively; a key missing from a side is a change too (removed);
- stages are matched by ``key`` and exit criteria by ``id`` (as the diff does), so an added,
  removed or edited stage or criterion is one element; their order merges as well (a side that
  kept the base's order takes the other's, new elements go after their predecessor);
- other lists (suggested actions, methodology uses) and rules are whole values: changed on one
  side, that side wins; differently on both, a conflict.

Nothing here validates the result: the merged draft is checked like any draft. Merging a
document with no change on one side returns the other side unchanged.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Final

# Lists of mappings matched by a field rather than by position: path element -> identity key.
KEYED_LISTS: Final[dict[str, str]] = {"stages": "key", "exit_criteria": "id"}
# Mappings merged as one value: a rule half from each side would not be a rule anyone wrote.
ATOMIC_KEYS: Final[frozenset[str]] = frozenset({"rule"})


class _Missing:
    """A key absent from one side (distinct from ``None``, which a document may hold)."""

    def __repr__(self) -> str:
        return "(absent)"

    def __deepcopy__(self, memo: dict[int, Any]) -> _Missing:
        return self  # one sentinel, compared by identity


MISSING: Final = _Missing()
# The last element of a conflict path about the order of a keyed list.
ORDER: Final = "(order)"


@dataclass(frozen=True)
class Conflict:
    """Both sides changed ``path`` differently since the base; values may be :data:`MISSING`.

    ``path`` names the place: ``("stages", "discover", "probability")``,
    ``("stages", "discover", "exit_criteria", "pain_confirmed")``, ``("stages", "(order)")``.
    """

    path: tuple[str, ...]
    base: Any
    ours: Any
    theirs: Any

    @property
    def where(self) -> str:
        """The place in words: ``stage 'discover' > criterion 'pain' > statement``."""
        words: list[str] = []
        parts = list(self.path)
        while parts:
            head = parts.pop(0)
            if head in KEYED_LISTS and parts:
                name = parts.pop(0)
                if name == ORDER:
                    words.append("order of " + ("stages" if head == "stages" else "exit criteria"))
                else:
                    words.append(f"{'stage' if head == 'stages' else 'criterion'} '{name}'")
            else:
                words.append(head.replace("_", " "))
        return " > ".join(words) or "process"


@dataclass
class MergeResult:
    """The merged document and the conflicts (their places hold the draft's value)."""

    document: dict[str, Any]
    conflicts: list[Conflict] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.conflicts


def merge_processes(
    base: dict[str, Any], ours: dict[str, Any], theirs: dict[str, Any]
) -> MergeResult:
    """Three-way merge of process documents; where both sides conflict the draft's value stays."""
    conflicts: list[Conflict] = []
    merged = _merge_value(base, ours, theirs, (), conflicts)
    document = merged if isinstance(merged, dict) else copy.deepcopy(ours)
    return MergeResult(document, conflicts)


def resolve(
    base: dict[str, Any], ours: dict[str, Any], theirs: dict[str, Any], *, prefer: str
) -> dict[str, Any]:
    """The merge with every conflict settled for one side: ``prefer`` is "ours" or "theirs"."""
    if prefer not in ("ours", "theirs"):
        raise ValueError("prefer is 'ours' or 'theirs'")
    if prefer == "ours":
        return merge_processes(base, ours, theirs).document
    # Keeping the latest version's value is the same merge seen from the other side.
    return merge_processes(base, theirs, ours).document


def _merge_value(
    base: Any, ours: Any, theirs: Any, path: tuple[str, ...], conflicts: list[Conflict]
) -> Any:
    if _same(ours, theirs):
        return copy.deepcopy(ours)
    if _same(base, ours):
        return copy.deepcopy(theirs)
    if _same(base, theirs):
        return copy.deepcopy(ours)
    leaf = path[-1] if path else ""
    if (
        isinstance(ours, dict)
        and isinstance(theirs, dict)
        and leaf not in ATOMIC_KEYS
        and (isinstance(base, dict) or base is MISSING)
    ):
        return _merge_dicts(base if isinstance(base, dict) else {}, ours, theirs, path, conflicts)
    if (
        leaf in KEYED_LISTS
        and _keyed(ours, KEYED_LISTS[leaf])
        and _keyed(theirs, KEYED_LISTS[leaf])
        and (base is MISSING or _keyed(base, KEYED_LISTS[leaf]))
    ):
        base_list = base if isinstance(base, list) else []
        return _merge_keyed(base_list, ours, theirs, KEYED_LISTS[leaf], path, conflicts)
    conflicts.append(Conflict(path, base, ours, theirs))
    return copy.deepcopy(ours)


def _same(a: Any, b: Any) -> bool:
    if a is MISSING or b is MISSING:
        return a is b
    return bool(type(a) is type(b) and a == b)


def _merge_dicts(
    base: dict[str, Any],
    ours: dict[str, Any],
    theirs: dict[str, Any],
    path: tuple[str, ...],
    conflicts: list[Conflict],
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    keys = (
        list(ours)
        + [k for k in theirs if k not in ours]
        + [k for k in base if k not in ours and k not in theirs]
    )
    for key in keys:
        value = _merge_value(
            base.get(key, MISSING),
            ours.get(key, MISSING),
            theirs.get(key, MISSING),
            (*path, key),
            conflicts,
        )
        if value is not MISSING:
            out[key] = value
    return out


def _keyed(items: Any, id_field: str) -> bool:
    """A list of mappings, each with a distinct text identity under ``id_field``."""
    if not isinstance(items, list):
        return False
    ids = [i.get(id_field) if isinstance(i, dict) else None for i in items]
    return all(isinstance(i, str) and i for i in ids) and len(set(ids)) == len(ids)


def _merge_keyed(
    base: list[dict[str, Any]],
    ours: list[dict[str, Any]],
    theirs: list[dict[str, Any]],
    id_field: str,
    path: tuple[str, ...],
    conflicts: list[Conflict],
) -> list[dict[str, Any]]:
    by_base = {i[id_field]: i for i in base}
    by_ours = {i[id_field]: i for i in ours}
    by_theirs = {i[id_field]: i for i in theirs}
    merged: dict[str, Any] = {}
    for ident in [*by_ours, *(k for k in by_theirs if k not in by_ours)]:
        value = _merge_value(
            by_base.get(ident, MISSING),
            by_ours.get(ident, MISSING),
            by_theirs.get(ident, MISSING),
            (*path, ident),
            conflicts,
        )
        if value is not MISSING:
            merged[ident] = value
    order = _merge_order(
        [i[id_field] for i in base],
        [i[id_field] for i in ours],
        [i[id_field] for i in theirs],
        path,
        conflicts,
    )
    return [merged[ident] for ident in order if ident in merged]


def _merge_order(
    base: list[str],
    ours: list[str],
    theirs: list[str],
    path: tuple[str, ...],
    conflicts: list[Conflict],
) -> list[str]:
    """One order for the merged elements: the side that reordered the common ones leads, and
    elements only the other side has go after their nearest predecessor there."""
    common = set(base) & set(ours) & set(theirs)

    def relative(order: list[str]) -> list[str]:
        return [i for i in order if i in common]

    ours_moved = relative(ours) != relative(base)
    theirs_moved = relative(theirs) != relative(base)
    if ours_moved and theirs_moved and relative(ours) != relative(theirs):
        conflicts.append(Conflict((*path, ORDER), base, ours, theirs))
    lead, other = (theirs, ours) if theirs_moved and not ours_moved else (ours, theirs)
    order = list(lead)
    for index, ident in enumerate(other):
        if ident in order:
            continue
        before = next((p for p in reversed(other[:index]) if p in order), None)
        order.insert(order.index(before) + 1 if before is not None else 0, ident)
    return order
