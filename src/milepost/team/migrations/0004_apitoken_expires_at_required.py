from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("team", "0003_apitoken_expires_at_fill")]

    operations = [
        migrations.AlterField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(),
        ),
    ]
