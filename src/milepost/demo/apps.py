from django.apps import AppConfig


class DemoConfig(AppConfig):
    """No models: the demo writes into the other apps' tables and records runs in ``imports``.
    An app so Django finds the ``demo`` and ``import_maven`` management commands."""

    name = "milepost.demo"
    label = "demo"
