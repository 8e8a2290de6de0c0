from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "milepost.imports"
    label = "imports"
