"""The evidence history table as each migration saw it, for its append-only triggers (skipped
by the migration loader: the name starts with ``_``)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import migrations

from milepost.pipeline.migrations._append_only import HistoryTable, append_only_triggers

_COLUMNS = [
    "id",
    "evidence_id",
    "opportunity_id",
    "criterion_key",
    "action",
    "actor_id",
    "at",
    "state",
    "level",
    "note",
    "link",
    "evidence_date",
    "confirmed_by_id",
    "reason",
]
BEFORE = [
    HistoryTable(
        "evidence_evidenceevent", columns=_COLUMNS, set_null=["actor_id", "confirmed_by_id"]
    )
]
AFTER = [
    HistoryTable(
        "evidence_evidenceevent",
        columns=[*_COLUMNS, "source", "buyer_claim", "accepted_by_rule", "artefact_id"],
        set_null=["actor_id", "confirmed_by_id", "artefact_id"],
    )
]


def drop_triggers(tables: Sequence[HistoryTable]) -> migrations.RunPython:
    """The reverse of :func:`install_triggers`: drop them (reverse: install them again)."""
    install = append_only_triggers(tables)
    return migrations.RunPython(install.reverse_code, install.code, elidable=False)


def install_triggers(tables: Sequence[HistoryTable]) -> migrations.RunPython:
    return append_only_triggers(tables)
