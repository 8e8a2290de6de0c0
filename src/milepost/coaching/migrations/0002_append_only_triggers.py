"""The database refuses UPDATE and DELETE on skill ratings (see pipeline's
``migrations/_append_only.py``)."""

from django.db import migrations

from milepost.pipeline.migrations._append_only import HistoryTable, append_only_triggers

TABLES = [
    HistoryTable(
        "coaching_skillrating",
        columns=[
            "id",
            "rep_id",
            "rater_id",
            "competency",
            "score",
            "observation",
            "is_self",
            "session_id",
            "rated_at",
        ],
        set_null=["rater_id", "session_id"],
    ),
]


class Migration(migrations.Migration):
    dependencies = [
        ("coaching", "0001_initial"),
        ("pipeline", "0006_append_only_triggers"),
    ]

    operations = [append_only_triggers(TABLES)]
