from django.apps import AppConfig


class ProcessConfig(AppConfig):
    name = "milepost.process"
    label = "process"
