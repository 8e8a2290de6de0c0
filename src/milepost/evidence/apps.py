from django.apps import AppConfig


class EvidenceConfig(AppConfig):
    name = "milepost.evidence"
    label = "evidence"
    verbose_name = "Exit-criteria evidence"
