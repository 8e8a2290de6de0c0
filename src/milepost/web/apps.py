from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "milepost.web"
    label = "web"
