"""Writes for the team: personal API tokens."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from milepost.core.errors import InvalidChange, NotFound
from milepost.team.models import ApiToken, User


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # shown to the user once, never stored


@transaction.atomic
def api_token_create(*, user: User, name: str) -> IssuedToken:
    """Issue a token for ``user``. Only its digest is stored."""
    name = (name or "").strip()
    if not name:
        raise InvalidChange("give the token a name, e.g. the script that will use it", field="name")
    secret = ApiToken.new_secret()
    token = ApiToken.objects.create(
        user=user, name=name[:100], key_prefix=secret[:10], digest=ApiToken.digest_of(secret)
    )
    return IssuedToken(token=token, secret=secret)


@transaction.atomic
def api_token_revoke(*, user: User, token_id: int) -> ApiToken:
    """Revoke one of ``user``'s own tokens (nobody revokes, or sees, another user's tokens)."""
    token = ApiToken.objects.filter(pk=token_id, user=user).first()
    if token is None:
        raise NotFound(f"token {token_id} not found")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token
