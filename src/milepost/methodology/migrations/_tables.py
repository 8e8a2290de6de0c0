"""The element-assessment history table as each migration saw it, for its append-only
triggers (skipped by the migration loader: the name starts with ``_``)."""

from __future__ import annotations

from django.db import migrations

from milepost.pipeline.migrations._append_only import HistoryTable, append_only_triggers

_COLUMNS = [
    "id",
    "assessment_id",
    "opportunity_id",
    "pack",
    "element",
    "level",
    "previous_level",
    "notes",
    "answers",
    "contact_ids",
    "actor_id",
    "at",
]
BEFORE = [
    HistoryTable("methodology_elementassessmentevent", columns=_COLUMNS, set_null=["actor_id"])
]
AFTER = [
    HistoryTable(
        "methodology_elementassessmentevent",
        columns=[*_COLUMNS, "verified_level", "verified"],
        set_null=["actor_id"],
    )
]


WITH_ARTEFACTS = [
    HistoryTable(
        "methodology_elementassessmentevent",
        columns=[*_COLUMNS, "verified_level", "verified", "artefact_id", "accepted_by_rule"],
        set_null=["actor_id"],
    )
]


def drop_triggers(tables: list[HistoryTable]) -> migrations.RunPython:
    """Drop the triggers (reverse: install them again)."""
    install = append_only_triggers(tables)
    return migrations.RunPython(install.reverse_code, install.code, elidable=False)
