"""API authentication: a personal bearer token, or the browser session (CSRF-checked)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer, SessionAuth

from milepost.team.models import ApiToken


class TokenAuth(HttpBearer):
    """``Authorization: Bearer mp_...``. Revoked tokens and inactive users are refused."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        if not token.startswith(ApiToken.PREFIX):
            return None
        row = (
            ApiToken.objects.select_related("user")
            .filter(digest=ApiToken.digest_of(token), revoked_at__isnull=True)
            .first()
        )
        if row is None or not row.user.is_active:
            return None
        now = timezone.now()
        # Touch at most once a minute: a script hammering the API should not write every call.
        if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        request.user = row.user
        return row.user


class SessionOrToken(Sequence[Any]):
    """Try the bearer token first (scripts), then the session (HTMX / browser calls).

    A ``Sequence`` because ninja only treats ``auth`` as a list of alternatives when
    ``isinstance(auth, Sequence)``; any other object is called as one single auth callable.
    """

    def __init__(self) -> None:
        self._methods = [TokenAuth(), SessionAuth(csrf=True)]

    def __getitem__(self, index):  # type: ignore[no-untyped-def, override]
        return self._methods[index]

    def __len__(self) -> int:
        return len(self._methods)
