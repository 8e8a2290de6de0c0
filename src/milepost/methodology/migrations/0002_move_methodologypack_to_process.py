"""MethodologyPack now belongs to process (see process 0003): drop it from this app's state.

State only: the table stays, process uses it under its old name.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("methodology", "0001_initial"),
        ("process", "0003_methodologypack"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="MethodologyPack")],
            database_operations=[],
        ),
    ]
