"""Did every acknowledged write survive? The pure half of ``bin/bench load``'s fault check.

The Locust users (``benchmarks/load_locustfile.py``) log every write that got a 2xx: a deal edit
as ``{"kind": "deal", "id", "version", "value"}`` (the version the server answered and the
``next_step`` it set) and a logged activity as ``{"kind": "activity", "id", "deal", "value"}``
(its subject). After the crashes, the harness reads the rows back from the database and hands
them to :func:`reconcile`, which decides, write by write:

- **activity**: found when a row with that id exists on that deal with that subject;
- **deal edit** at version *v* with value *x*: found when the deal's stored version is above *v*
  (every edit raises the version by one from the one it read, so a later version was built on
  *v*, which must therefore have been stored), or equal to *v* and ``next_step`` is *x*.
  Missing when the stored version is below *v*, or equal with another value, or when a later
  acknowledged edit of the deal claims the same version with another value: it could only have
  read the version before, so the earlier edit was lost and its version written again.

No Django here: this is what ``tests/benchmarks/test_acked.py`` checks.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Missing:
    kind: str
    id: int
    version: int | None
    value: str
    why: str


@dataclass
class Reconciliation:
    acknowledged: int = 0
    found: int = 0
    missing: list[Missing] = field(default_factory=list)
    by_kind: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.missing and self.found == self.acknowledged


def read_log(path: Path) -> list[dict[str, Any]]:
    """The acknowledged writes of a run; a line cut short by a crash of the writer is skipped
    (its request's answer was not fully logged, so it does not count as acknowledged)."""
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def reconcile(
    acks: Iterable[Mapping[str, Any]],
    deals: Mapping[int, tuple[int, str]],
    activities: Mapping[int, tuple[int, str]],
) -> Reconciliation:
    """Check ``acks`` against the stored rows: ``deals`` maps a deal id to its (version,
    next_step), ``activities`` an activity id to its (deal id, subject). Ids absent from the
    maps are absent from the database."""
    result = Reconciliation()
    acks = list(acks)
    # The value acknowledged last for each (deal, version), in the order of the log.
    last: dict[tuple[int, int], str] = {
        (int(a["id"]), int(a["version"])): str(a["value"]) for a in acks if a["kind"] == "deal"
    }
    for ack in acks:
        kind = str(ack["kind"])
        row_id = int(ack["id"])
        value = str(ack["value"])
        result.acknowledged += 1
        result.by_kind[kind] = result.by_kind.get(kind, 0) + 1
        if kind == "activity":
            stored = activities.get(row_id)
            if stored is None:
                result.missing.append(Missing(kind, row_id, None, value, "no such row"))
            elif stored != (int(ack["deal"]), value):
                result.missing.append(
                    Missing(kind, row_id, None, value, f"row holds {stored!r} instead")
                )
            else:
                result.found += 1
            continue
        if kind != "deal":
            raise ValueError(f"unknown kind of write: {kind!r}")
        version = int(ack["version"])
        if last[(row_id, version)] != value:
            why = f"version {version} acknowledged again later with another value"
            result.missing.append(Missing(kind, row_id, version, value, why))
            continue
        stored_deal = deals.get(row_id)
        if stored_deal is None:
            result.missing.append(Missing(kind, row_id, version, value, "no such deal"))
            continue
        stored_version, stored_value = stored_deal
        if stored_version > version or (stored_version == version and stored_value == value):
            result.found += 1
        else:
            result.missing.append(
                Missing(
                    kind,
                    row_id,
                    version,
                    value,
                    f"deal is at version {stored_version} with next step {stored_value!r}",
                )
            )
    return result


def format_reconciliation(result: Reconciliation, *, limit: int = 10) -> list[str]:
    kinds = ", ".join(f"{n:,} {k}" for k, n in sorted(result.by_kind.items()))
    lines = [
        f"acknowledged writes: {result.acknowledged:,} ({kinds or 'none'})",
        f"found after restart: {result.found:,}",
        f"missing: {len(result.missing):,}",
    ]
    for m in result.missing[:limit]:
        lines.append(f"  missing {m.kind} {m.id} v{m.version}: {m.value!r} ({m.why})")
    return lines
