"""Writes of the security app: recording security events, sending password-reset emails."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.tokens import default_token_generator
from django.http import HttpRequest
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from milepost.security.models import EventKind, SecurityEvent


def client_ip(request: HttpRequest | None) -> str:
    """The peer address Django sees (behind a proxy, configure the proxy to set REMOTE_ADDR)."""
    if request is None:
        return ""
    return str(request.META.get("REMOTE_ADDR", ""))[:45]


def security_event_record(
    *,
    kind: EventKind,
    user: Any = None,
    username: str = "",
    request: HttpRequest | None = None,
    detail: str = "",
) -> SecurityEvent:
    """Append one event. ``user`` may be anonymous or ``None`` (e.g. an unknown username)."""
    if user is not None and not getattr(user, "is_authenticated", False):
        user = None
    if user is not None and not username:
        username = user.get_username()
    return SecurityEvent.objects.create(
        kind=kind,
        user=user,
        username=(username or "")[:150],
        ip_address=client_ip(request),
        method=(request.method or "")[:8] if request is not None else "",
        path=request.path[:300] if request is not None else "",
        detail=detail[:500],
    )


def password_reset_email_send(*, user: Any, request: HttpRequest, by: Any) -> bool:
    """Email ``user`` a link to choose a new password (an admin's way to help, instead of
    setting it for them). Works for an account that never had a usable password. Returns
    ``False`` when the user has no email address (nothing is sent)."""
    if not user.email or not user.is_active:
        return False
    context = {
        "email": user.email,
        "domain": request.get_host(),
        "site_name": "Milepost",
        "uid": urlsafe_base64_encode(force_bytes(user.pk)),
        "user": user,
        "token": default_token_generator.make_token(user),
        "protocol": "https" if request.is_secure() else "http",
    }
    PasswordResetForm().send_mail(
        "security/password_reset_subject.txt",
        "security/password_reset_email.txt",
        context,
        settings.DEFAULT_FROM_EMAIL,
        user.email,
    )
    security_event_record(
        kind=EventKind.PASSWORD_RESET_SENT,
        user=user,
        request=request,
        detail=f"sent by {by.get_username()}",
    )
    return True
