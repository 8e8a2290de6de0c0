"""People who sell and manage: users, their role and the reporting line.

The reporting line (``User.manager``) can be of any depth. Row-level access is derived from it in
one place, :mod:`milepost.team.selectors`; nothing else decides who may see whom.
"""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy


class Role(models.TextChoices):
    REP = "rep", gettext_lazy("Sales rep")
    MANAGER = "manager", gettext_lazy("Front-line manager")
    LEADER = "leader", gettext_lazy("Sales leader")
    ADMIN = "admin", gettext_lazy("Sales-ops admin")


class User(AbstractUser):
    """A Milepost user. The role says what they do; ``manager`` says whom they report to.

    Not a buyer: buyers reach a shared mutual action plan through a link, never log in.
    """

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.REP)
    manager = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="direct_reports"
    )
    region = models.CharField(max_length=64, blank=True)
    title = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["last_name", "first_name", "username"]
        indexes = [models.Index(fields=["manager"]), models.Index(fields=["role"])]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN or self.is_superuser


class ApiToken(models.Model):
    """A personal token for scripts. Only a SHA-256 digest is stored; the secret is shown once.

    Tokens act as their user with the same row-level rules; they carry no extra power. Every
    token expires (``expires_at``, chosen at creation within ``MILEPOST_API_TOKEN_MAX_DAYS``),
    so a forgotten one stops working by itself. Not editable anywhere: not even the admin site
    may re-point, extend or un-revoke a token.
    """

    PREFIX = "mp_"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    key_prefix = models.CharField(max_length=12, help_text="First characters, to recognise a token")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…)"

    @staticmethod
    def new_secret() -> str:
        return ApiToken.PREFIX + secrets.token_urlsafe(32)

    @staticmethod
    def digest_of(secret: str) -> str:
        # The secret has 256 bits of entropy, so a fast hash is enough (no need for argon2 here,
        # which would make every API call pay a deliberate slowdown).
        return hashlib.sha256(secret.encode()).hexdigest()

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        """Accepted by the API: neither revoked nor expired."""
        return self.revoked_at is None and not self.is_expired
