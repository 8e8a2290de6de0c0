"""Writes for the team: personal API tokens (each recorded in the security log)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext

from milepost.core.errors import InvalidChange, NotFound
from milepost.security.models import EventKind
from milepost.security.services import security_event_record
from milepost.team.models import ApiToken, User


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # shown to the user once, never stored


def _lifetime_days(expires_in_days: object) -> int:
    """The token's lifetime: the default when not given, else 1..MILEPOST_API_TOKEN_MAX_DAYS."""
    if expires_in_days is None or expires_in_days == "":
        return int(settings.MILEPOST_API_TOKEN_DEFAULT_DAYS)
    longest = int(settings.MILEPOST_API_TOKEN_MAX_DAYS)
    try:
        days = int(str(expires_in_days).strip())
    except ValueError:
        days = 0
    if not 1 <= days <= longest:
        raise InvalidChange(
            gettext("a token lives 1 to %(longest)s days") % {"longest": longest},
            field="expires_in_days",
        )
    return days


@transaction.atomic
def api_token_create(
    *,
    user: User,
    name: str,
    expires_in_days: int | str | None = None,
    request: HttpRequest | None = None,
) -> IssuedToken:
    """Issue a token for ``user``, expiring after ``expires_in_days`` (default 90). Only its
    digest is stored."""
    name = (name or "").strip()
    if not name:
        raise InvalidChange(
            gettext("give the token a name, e.g. the script that will use it"), field="name"
        )
    days = _lifetime_days(expires_in_days)
    secret = ApiToken.new_secret()
    token = ApiToken.objects.create(
        user=user,
        name=name[:100],
        key_prefix=secret[:10],
        digest=ApiToken.digest_of(secret),
        expires_at=timezone.now() + timedelta(days=days),
    )
    security_event_record(
        kind=EventKind.TOKEN_CREATED,
        user=user,
        request=request,
        detail=f"“{token.name}” ({token.key_prefix}…), expires {token.expires_at:%Y-%m-%d}",
    )
    return IssuedToken(token=token, secret=secret)


@transaction.atomic
def api_token_revoke(*, user: User, token_id: int, request: HttpRequest | None = None) -> ApiToken:
    """Revoke one of ``user``'s own tokens (nobody revokes, or sees, another user's tokens)."""
    token = ApiToken.objects.select_for_update().filter(pk=token_id, user=user).first()
    if token is None:
        raise NotFound(gettext("token %(token_id)s not found") % {"token_id": token_id})
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        security_event_record(
            kind=EventKind.TOKEN_REVOKED,
            user=user,
            request=request,
            detail=f"“{token.name}” ({token.key_prefix}…)",
        )
    return token
