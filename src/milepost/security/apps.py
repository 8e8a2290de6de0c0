from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "milepost.security"
    label = "security"
    verbose_name = "Security"

    def ready(self) -> None:
        # Connects the sign-in, sign-out, password, lockout and admin-action receivers.
        from milepost.security import receivers  # noqa: F401
