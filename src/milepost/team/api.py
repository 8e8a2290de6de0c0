"""``/me`` endpoints of the REST API: who am I, and my personal API tokens.

Nobody sees or revokes another user's tokens (not even an admin): tokens are personal.
Issuing a token requires the browser session, so a leaked token cannot mint fresh ones that
would outlive its own revocation; listing and revoking work with either kind of auth.
"""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema, Status
from ninja.security import SessionAuth

from milepost.core.schemas import ErrorOut, InvalidOut
from milepost.team.services import api_token_create, api_token_revoke

router = Router(tags=["me"])


class MeOut(Schema):
    id: int
    username: str
    first_name: str
    last_name: str
    email: str
    role: str
    manager_id: int | None
    region: str
    title: str


class TokenOut(Schema):
    id: int
    name: str
    key_prefix: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    is_active: bool


class TokenIn(Schema):
    name: str
    # Days until the token stops working; default 90, at most MILEPOST_API_TOKEN_MAX_DAYS.
    expires_in_days: int | None = None


class IssuedTokenOut(Schema):
    token: TokenOut
    secret: str


@router.get("/me", response=MeOut)
def me(request: HttpRequest):
    return request.auth


@router.get("/me/tokens", response=list[TokenOut])
def list_tokens(request: HttpRequest):
    """Your tokens, newest first, revoked and expired ones included (``is_active: false``)."""
    return request.auth.api_tokens.order_by("-created_at", "-id")


@router.post(
    "/me/tokens",
    response={201: IssuedTokenOut, 422: InvalidOut},
    auth=SessionAuth(csrf=True),
)
def create_token(request: HttpRequest, payload: TokenIn):
    """Issue a token. The ``secret`` is in this answer only; it is never shown again."""
    issued = api_token_create(
        user=request.auth,
        name=payload.name,
        expires_in_days=payload.expires_in_days,
        request=request,
    )
    return Status(201, {"token": issued.token, "secret": issued.secret})


@router.delete("/me/tokens/{token_id}", response={204: None, 404: ErrorOut})
def revoke_token(request: HttpRequest, token_id: int):
    api_token_revoke(user=request.auth, token_id=token_id, request=request)
    return Status(204, None)
