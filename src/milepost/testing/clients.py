"""Test clients signed in the two ways a user reaches Milepost: a session or an API token."""

from __future__ import annotations

from typing import Literal

from django.test import Client

from milepost.team.models import User
from milepost.team.services import api_token_create


def api_client(user: User, auth: Literal["session", "token"] = "session") -> Client:
    """A client for ``user``: signed in (``session``) or sending a personal token (``token``)."""
    if auth == "token":
        secret = api_token_create(user=user, name="test").secret
        return Client(headers={"Authorization": f"Bearer {secret}"})
    client = Client()
    client.force_login(user)
    return client
