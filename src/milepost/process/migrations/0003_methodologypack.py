"""MethodologyPack moves from the methodology app to process, keeping its table.

State only: the table ``methodology_methodologypack`` (created by methodology 0001) stays as
it is and process takes the model over; methodology 0002 drops it from its own state. No data
is copied, so the move is instant and reversible (unapplying restores the old state).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("process", "0002_processdraft"),
        ("methodology", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="MethodologyPack",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("key", models.SlugField(max_length=64, unique=True)),
                        ("name", models.CharField(max_length=120)),
                        ("definition", models.JSONField()),
                        ("checksum", models.CharField(max_length=64)),
                        ("source_name", models.CharField(blank=True, max_length=255)),
                        ("loaded_at", models.DateTimeField(auto_now=True)),
                    ],
                    options={
                        "db_table": "methodology_methodologypack",
                        "ordering": ["name"],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
