"""The database refuses UPDATE and DELETE on snooze history (see pipeline's
``migrations/_append_only.py``)."""

from django.db import migrations

from milepost.pipeline.migrations._append_only import HistoryTable, append_only_triggers

TABLES = [
    HistoryTable(
        "inspection_snoozeevent",
        columns=[
            "id",
            "snooze_id",
            "opportunity_id",
            "action",
            "actor_id",
            "at",
            "signal",
            "reason",
            "until",
        ],
        set_null=["actor_id"],
    ),
]


class Migration(migrations.Migration):
    dependencies = [
        ("inspection", "0002_snooze"),
        ("pipeline", "0006_append_only_triggers"),
    ]

    operations = [append_only_triggers(TABLES)]
