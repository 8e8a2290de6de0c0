"""The database refuses UPDATE and DELETE on security events (see pipeline's
``migrations/_append_only.py``)."""

from django.db import migrations

from milepost.pipeline.migrations._append_only import HistoryTable, append_only_triggers

TABLES = [
    HistoryTable(
        "security_securityevent",
        columns=[
            "id",
            "at",
            "kind",
            "user_id",
            "username",
            "ip_address",
            "method",
            "path",
            "detail",
        ],
        set_null=["user_id"],
    ),
]


class Migration(migrations.Migration):
    dependencies = [
        ("security", "0001_initial"),
        ("pipeline", "0006_append_only_triggers"),
    ]

    operations = [append_only_triggers(TABLES)]
