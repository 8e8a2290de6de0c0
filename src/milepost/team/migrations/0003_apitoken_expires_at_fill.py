"""Existing tokens expire 90 days after they were created (the new default lifetime)."""

from datetime import timedelta

from django.db import migrations


def fill(apps, schema_editor):
    ApiToken = apps.get_model("team", "ApiToken")
    for token in ApiToken.objects.filter(expires_at__isnull=True).only("pk", "created_at"):
        ApiToken.objects.filter(pk=token.pk).update(
            expires_at=token.created_at + timedelta(days=90)
        )


class Migration(migrations.Migration):
    dependencies = [("team", "0002_apitoken_expires_at")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
