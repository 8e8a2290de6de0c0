"""API authentication: a personal bearer token, or the browser session (CSRF-checked)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer, SessionAuth

from milepost.team.models import ApiToken


class TokenAuth(HttpBearer):
    """``Authorization: Bearer mp_...``. Revoked or expired tokens and inactive users are
    refused (401). There is no Basic or password auth on the API: the password path is the
    sign-in page only, which django-axes throttles."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        if not token.startswith(ApiToken.PREFIX):
            return None
        now = timezone.now()
        row = (
            ApiToken.objects.select_related("user")
            .filter(digest=ApiToken.digest_of(token), revoked_at__isnull=True, expires_at__gt=now)
            .first()
        )
        if row is None or not row.user.is_active:
            return None
        # Touch at most once a minute: a script hammering the API should not write every call.
        if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        request.user = row.user
        return row.user


class SignedInSession(SessionAuth):
    """The browser session, CSRF-checked for unsafe methods.

    Ninja checks CSRF before looking at the session, so a script with a bad or revoked bearer
    token (and no session) would get "403 CSRF failed" on writes. Without a signed-in session
    this method simply does not apply, and the caller gets a plain 401.
    """

    def __call__(self, request: HttpRequest) -> Any:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        return super().__call__(request)


def api_auth() -> list[Any]:
    """Alternatives tried in order: bearer token (scripts), then session (HTMX / browser)."""
    return [TokenAuth(), SignedInSession(csrf=True)]
