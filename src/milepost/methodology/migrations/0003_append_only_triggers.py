"""The database refuses UPDATE and DELETE on methodology history (see pipeline's
``migrations/_append_only.py``)."""

from django.db import migrations

from milepost.pipeline.migrations._append_only import HistoryTable, append_only_triggers

TABLES = [
    HistoryTable(
        "methodology_elementassessmentevent",
        columns=[
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
        ],
        set_null=["actor_id"],
    ),
    HistoryTable(
        "methodology_buyinginfluenceevent",
        columns=[
            "id",
            "opportunity_id",
            "contact_id",
            "action",
            "role",
            "degree",
            "response_mode",
            "rating",
            "win_results",
            "notes",
            "actor_id",
            "at",
        ],
        set_null=["contact_id", "actor_id"],
    ),
]


class Migration(migrations.Migration):
    dependencies = [
        ("methodology", "0002_move_methodologypack_to_process"),
        ("pipeline", "0006_append_only_triggers"),
    ]

    operations = [append_only_triggers(TABLES)]
