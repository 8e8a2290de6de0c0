from django.apps import AppConfig


class PlaybooksConfig(AppConfig):
    name = "milepost.playbooks"
    label = "playbooks"
    verbose_name = "Playbooks and job aids"
