"""The security event log: who signed in, failed, was locked out, changed a password, issued or
revoked a token, was refused a page, or changed something in the admin.

Append-only (the database refuses UPDATE and DELETE), so an admin cannot tidy away the trace of
what they did. It is an audit trail, not an activity feed: it is read by sales-ops admins only.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy

from milepost.core.models import AppendOnly


class EventKind(models.TextChoices):
    LOGIN = "login", gettext_lazy("Signed in")
    LOGIN_FAILED = "login_failed", gettext_lazy("Sign-in failed")
    LOCKED_OUT = "locked_out", gettext_lazy("Locked out")
    UNLOCKED = "unlocked", gettext_lazy("Sign-in unlocked")
    LOGOUT = "logout", gettext_lazy("Signed out")
    SESSION_EXPIRED = "session_expired", gettext_lazy("Session expired")
    PASSWORD_CHANGED = "password_changed", gettext_lazy("Password changed")
    PASSWORD_RESET_REQUESTED = "password_reset_requested", gettext_lazy("Password reset requested")
    PASSWORD_RESET_SENT = (
        "password_reset_sent",
        gettext_lazy("Password-reset email sent by an admin"),
    )
    OTP_ENROLLED = "otp_enrolled", gettext_lazy("Two-factor enrolled")
    OTP_REMOVED = "otp_removed", gettext_lazy("Two-factor removed")
    OTP_FAILED = "otp_failed", gettext_lazy("Two-factor code refused")
    TOKEN_CREATED = "token_created", gettext_lazy("API token created")
    TOKEN_REVOKED = "token_revoked", gettext_lazy("API token revoked")
    PERMISSION_DENIED = "permission_denied", gettext_lazy("Permission denied")
    ADMIN_ACTION = "admin_action", gettext_lazy("Admin action")


class SecurityEvent(AppendOnly):
    """One security-relevant event. ``user`` is who it is about (the signed-in user, the account
    a failed sign-in named, the token's owner); ``username`` keeps the name as typed, so a failed
    sign-in for a name that does not exist is recorded too, and the row survives the user."""

    append_only_what = "security events"

    at = models.DateTimeField(default=timezone.now, db_index=True)
    kind = models.CharField(max_length=32, choices=EventKind.choices, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="security_events",
    )
    username = models.CharField(max_length=150, blank=True)
    ip_address = models.CharField(max_length=45, blank=True)
    method = models.CharField(max_length=8, blank=True)
    path = models.CharField(max_length=300, blank=True)
    detail = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["user", "at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.kind} {self.username}"
