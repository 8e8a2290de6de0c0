from django.apps import AppConfig


class DealsConfig(AppConfig):
    """No models: the deal pages and API over the pipeline, evidence and inspection apps."""

    name = "milepost.deals"
    label = "deals"
