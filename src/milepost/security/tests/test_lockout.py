"""Password guessing is throttled: five failures lock a username from one address for 15 min,
even for the right password; an admin (or the cool-off) unlocks; every step is logged."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from milepost.security.models import EventKind, SecurityEvent
from milepost.testing.factories import PASSWORD

pytestmark = pytest.mark.django_db


def _sign_in(client: Client, username: str, password: str):
    return client.post("/login/", {"username": username, "password": password})


def _fail(client: Client, username: str, times: int) -> list[int]:
    return [_sign_in(client, username, "wrong-password").status_code for _ in range(times)]


def test_settings_lock_five_failures_per_username_and_address_for_15_minutes():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 15 * 60
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]


def test_the_right_password_is_refused_once_locked_out(org):
    client = Client()
    # Four failures: the form says "did not match", the fifth locks.
    assert _fail(client, "rep_a1", 4) == [200] * 4
    assert _fail(client, "rep_a1", 1) == [429]
    response = _sign_in(client, "rep_a1", PASSWORD)
    assert response.status_code == 429
    assert "Sign-in temporarily locked" in response.text
    assert "_auth_user_id" not in client.session
    kinds = list(SecurityEvent.objects.filter(username="rep_a1").values_list("kind", flat=True))
    assert kinds.count(EventKind.LOGIN_FAILED) == 6
    assert EventKind.LOCKED_OUT in kinds
    assert EventKind.LOGIN not in kinds
    locked = SecurityEvent.objects.filter(kind=EventKind.LOCKED_OUT).first()
    assert (locked.user, locked.ip_address, locked.path) == (org.rep_a1, "127.0.0.1", "/login/")


def test_lockout_is_per_username_and_address(org):
    _fail(Client(), "rep_a1", 5)
    # Same username from another address, and another username from the same address, work.
    elsewhere = Client(REMOTE_ADDR="10.0.0.9")
    assert _sign_in(elsewhere, "rep_a1", PASSWORD).status_code == 302
    assert _sign_in(Client(), "rep_a2", PASSWORD).status_code == 302


def test_unknown_usernames_are_throttled_and_logged_too(db):
    assert _fail(Client(), "nobody", 5)[-1] == 429
    row = SecurityEvent.objects.filter(kind=EventKind.LOGIN_FAILED).first()
    assert (row.username, row.user) == ("nobody", None)


def test_a_success_before_the_limit_resets_the_count(org):
    client = Client()
    _fail(client, "rep_a1", 4)
    assert _sign_in(client, "rep_a1", PASSWORD).status_code == 302
    client.logout()
    assert _fail(client, "rep_a1", 4) == [200] * 4


def test_the_lock_ends_after_the_cool_off(org):
    client = Client()
    _fail(client, "rep_a1", 5)
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert _sign_in(client, "rep_a1", PASSWORD).status_code == 302


def test_admin_unlocks_with_the_user_admin_action(org, client_for):
    _fail(Client(), "rep_a1", 5)
    admin = client_for(org.admin)
    response = admin.post(
        "/admin/team/user/",
        {"action": "unlock_sign_in", "_selected_action": [org.rep_a1.pk]},
    )
    assert response.status_code == 302
    assert not AccessAttempt.objects.filter(username="rep_a1").exists()
    assert _sign_in(Client(), "rep_a1", PASSWORD).status_code == 302
    unlocked = SecurityEvent.objects.get(kind=EventKind.UNLOCKED)
    assert unlocked.user == org.rep_a1
    assert "by admin" in unlocked.detail


def test_axes_reset_command_unlocks(org):
    _fail(Client(), "rep_a1", 5)
    call_command("axes_reset_username", "rep_a1", stdout=None)
    assert _sign_in(Client(), "rep_a1", PASSWORD).status_code == 302


def test_non_admins_cannot_unlock(org, client_for):
    _fail(Client(), "rep_a2", 5)
    response = client_for(org.manager_a).post(
        "/admin/team/user/", {"action": "unlock_sign_in", "_selected_action": [org.rep_a2.pk]}
    )
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    assert AccessAttempt.objects.filter(username="rep_a2").exists()


def test_the_admin_login_form_is_not_a_second_password_path(org):
    """``/admin/login/`` sends to the throttled sign-in page (which also asks for TOTP)."""
    client = Client()
    response = client.post("/admin/login/", {"username": "admin", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")
    assert "_auth_user_id" not in client.session
