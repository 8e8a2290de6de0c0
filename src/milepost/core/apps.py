from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Shared plumbing: abstract models, templates, and the one table of background jobs."""

    name = "milepost.core"
    label = "core"
    verbose_name = "Core"
