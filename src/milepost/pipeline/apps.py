from django.apps import AppConfig


class PipelineConfig(AppConfig):
    name = "milepost.pipeline"
    label = "pipeline"

    def ready(self) -> None:
        from milepost.pipeline import signals  # noqa: F401  (connects the facts receivers)
