"""Signed-in sessions end after 30 idle minutes and 12 hours after sign-in (settings), by
moving the session's stored timestamps back instead of waiting."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from milepost.security.models import EventKind, SecurityEvent
from milepost.security.sessions import SESSION_SEEN, SESSION_STARTED
from milepost.testing.factories import PASSWORD

pytestmark = pytest.mark.django_db


def _signed_in(org) -> Client:
    client = Client()
    assert client.post("/login/", {"username": "rep_a1", "password": PASSWORD}).status_code == 302
    return client


def _shift(client: Client, *, started: int = 0, seen: int = 0) -> None:
    """Move the stored stamps ``started``/``seen`` seconds into the past."""
    session = client.session
    session[SESSION_STARTED] -= started
    session[SESSION_SEEN] -= seen
    session.save()


def _now() -> int:
    return int(timezone.now().timestamp())


def test_defaults():
    assert settings.MILEPOST_SESSION_IDLE_MINUTES == 30
    assert settings.MILEPOST_SESSION_ABSOLUTE_HOURS == 12


def test_sign_in_stamps_the_session(org):
    client = _signed_in(org)
    assert abs(client.session[SESSION_STARTED] - _now()) <= 5
    assert client.session[SESSION_SEEN] == client.session[SESSION_STARTED]


def test_idle_session_ends(org):
    client = _signed_in(org)
    _shift(client, started=31 * 60, seen=31 * 60)
    response = client.get("/team/tokens/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert "_auth_user_id" not in client.session
    expired = SecurityEvent.objects.get(kind=EventKind.SESSION_EXPIRED)
    assert expired.user == org.rep_a1
    assert "idle" in expired.detail
    assert not SecurityEvent.objects.filter(kind=EventKind.LOGOUT).exists()


def test_activity_keeps_the_session_alive_and_moves_last_seen(org):
    client = _signed_in(org)
    _shift(client, started=29 * 60, seen=29 * 60)
    assert client.get("/team/tokens/").status_code == 200
    assert abs(client.session[SESSION_SEEN] - _now()) <= 5
    _shift(client, started=29 * 60, seen=29 * 60)  # 58 min in, active all along
    assert client.get("/team/tokens/").status_code == 200


def test_last_seen_is_not_rewritten_more_than_once_a_minute(org):
    client = _signed_in(org)
    _shift(client, seen=30)
    before = client.session[SESSION_SEEN]
    client.get("/team/tokens/")
    assert client.session[SESSION_SEEN] == before


def test_absolute_limit_ends_an_active_session(org):
    client = _signed_in(org)
    _shift(client, started=12 * 3600 + 1)
    assert client.get("/team/tokens/").status_code == 302
    expired = SecurityEvent.objects.get(kind=EventKind.SESSION_EXPIRED)
    assert "12 h" in expired.detail


def test_the_api_answers_401_after_expiry(org):
    client = _signed_in(org)
    _shift(client, started=31 * 60, seen=31 * 60)
    assert client.get("/api/v1/me").status_code == 401


def test_a_session_without_stamps_starts_its_clock(org, client):
    client.force_login(org.rep_a1)
    session = client.session
    del session[SESSION_STARTED], session[SESSION_SEEN]
    session.save()
    assert client.get("/team/tokens/").status_code == 200
    assert SESSION_STARTED in client.session


@pytest.mark.parametrize(("idle", "absolute"), [(1, 1), (60, 24)])
def test_the_limits_follow_the_settings(org, settings, idle, absolute):
    settings.MILEPOST_SESSION_IDLE_MINUTES = idle
    settings.MILEPOST_SESSION_ABSOLUTE_HOURS = absolute
    client = _signed_in(org)
    _shift(client, started=idle * 60 - 10, seen=idle * 60 - 10)
    assert client.get("/team/tokens/").status_code == 200
    client2 = _signed_in(org)
    _shift(client2, started=idle * 60 + 10, seen=idle * 60 + 10)
    assert client2.get("/team/tokens/").status_code == 302
