from django.apps import AppConfig


class CoachingConfig(AppConfig):
    name = "milepost.coaching"
    label = "coaching"
    verbose_name = "Coaching"
