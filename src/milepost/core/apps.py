from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Installed so the abstract models and templates here are found; it owns no tables."""

    name = "milepost.core"
    label = "core"
    verbose_name = "Core"
