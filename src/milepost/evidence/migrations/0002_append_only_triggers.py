"""The database refuses UPDATE and DELETE on evidence history (see pipeline's
``migrations/_append_only.py``)."""

from django.db import migrations

from milepost.pipeline.migrations._append_only import HistoryTable, append_only_triggers

TABLES = [
    HistoryTable(
        "evidence_evidenceevent",
        columns=[
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
        ],
        set_null=["actor_id", "confirmed_by_id"],
    ),
]


class Migration(migrations.Migration):
    dependencies = [
        ("evidence", "0001_initial"),
        ("pipeline", "0006_append_only_triggers"),
    ]

    operations = [append_only_triggers(TABLES)]
