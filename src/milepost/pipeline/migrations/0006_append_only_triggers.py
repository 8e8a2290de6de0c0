"""The database refuses UPDATE and DELETE on stage transitions and opportunity changes.

Also creates what every app's append-only triggers share: the ``append_only_unlock`` table and,
on PostgreSQL, the ``append_only_guard()`` trigger function. See ``_append_only.py``.
"""

from django.db import migrations

from milepost.pipeline.migrations._append_only import HistoryTable, append_only_triggers

TABLES = [
    HistoryTable(
        "pipeline_stagetransition",
        columns=[
            "id",
            "opportunity_id",
            "from_stage_id",
            "to_stage_id",
            "moved_at",
            "moved_by_id",
            "amount",
            "currency",
            "close_date",
            "seconds_in_from_stage",
            "source",
            "criteria_result",
            "note",
            "stage_steps",
        ],
        set_null=["moved_by_id"],
    ),
    HistoryTable(
        "pipeline_opportunitychange",
        columns=[
            "id",
            "opportunity_id",
            "changed_at",
            "changed_by_id",
            "source",
            "close_date_from",
            "close_date_to",
            "close_date_shift_days",
            "amount_from",
            "amount_to",
        ],
        set_null=["changed_by_id"],
    ),
]


class Migration(migrations.Migration):
    dependencies = [
        ("pipeline", "0005_buying_role_summary"),
    ]

    operations = [append_only_triggers(TABLES, setup=True)]
