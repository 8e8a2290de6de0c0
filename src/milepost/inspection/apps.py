from django.apps import AppConfig


class InspectionConfig(AppConfig):
    name = "milepost.inspection"
    label = "inspection"
