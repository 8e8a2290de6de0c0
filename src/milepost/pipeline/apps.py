from django.apps import AppConfig


class PipelineConfig(AppConfig):
    name = "milepost.pipeline"
    label = "pipeline"
