from django.apps import AppConfig


class MethodologyConfig(AppConfig):
    name = "milepost.methodology"
    label = "methodology"
    verbose_name = "Methodologies"
