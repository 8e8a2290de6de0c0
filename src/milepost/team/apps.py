from django.apps import AppConfig


class TeamConfig(AppConfig):
    name = "milepost.team"
    label = "team"
