from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "milepost.analytics"
    label = "analytics"
