"""Self-service password change and reset by email, each recorded in the security log."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

from milepost.security.models import EventKind, SecurityEvent
from milepost.testing.factories import PASSWORD

pytestmark = pytest.mark.django_db

NEW = "a-brand-new-passphrase-77"


def _signs_in(password: str, username: str = "rep_a1") -> bool:
    response = Client().post("/login/", {"username": username, "password": password})
    return response.status_code == 302


def test_change_own_password(org, client_for):
    client = client_for(org.rep_a1)
    page = client.get("/account/password/")
    assert page.status_code == 200
    assert 'name="csrfmiddlewaretoken"' in page.content.decode()
    response = client.post(
        "/account/password/",
        {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW},
    )
    assert response.status_code == 302
    assert response["Location"] == "/account/password/done/"
    # Still signed in on this session; the new password works, the old one does not.
    assert client.get("/account/password/done/").status_code == 200
    assert _signs_in(NEW)
    assert not _signs_in(PASSWORD)
    changed = SecurityEvent.objects.get(kind=EventKind.PASSWORD_CHANGED)
    assert changed.user == org.rep_a1


def test_change_needs_the_old_password_and_a_strong_new_one(org, client_for):
    client = client_for(org.rep_a1)
    wrong_old = client.post(
        "/account/password/", {"old_password": "nope", "new_password1": NEW, "new_password2": NEW}
    )
    assert wrong_old.status_code == 200
    assert "old_password" in wrong_old.context["form"].errors
    weak = client.post(
        "/account/password/",
        {"old_password": PASSWORD, "new_password1": "123", "new_password2": "123"},
    )
    assert "new_password2" in weak.context["form"].errors
    assert _signs_in(PASSWORD)
    assert not SecurityEvent.objects.filter(kind=EventKind.PASSWORD_CHANGED).exists()


def test_anonymous_cannot_change_a_password(client):
    response = client.get("/account/password/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_reset_by_email(org):
    org.rep_a1.email = "rep_a1@example.com"
    org.rep_a1.save(update_fields=["email"])
    client = Client()
    assert "Forgot your password?" in client.get("/login/").content.decode()
    response = client.post("/account/password/reset/", {"email": "rep_a1@example.com"})
    assert response.status_code == 302
    assert response["Location"] == "/account/password/reset/sent/"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["rep_a1@example.com"]
    link = re.search(r"http://testserver(/account/password/reset/\S+/)", mail.outbox[0].body)
    form = client.get(link.group(1), follow=True)
    assert form.context["validlink"]
    done = client.post(
        form.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW}, follow=True
    )
    assert done.redirect_chain[-1][0] == "/account/password/reset/complete/"
    assert _signs_in(NEW)
    # The link works once.
    assert not client.get(link.group(1), follow=True).context["validlink"]
    kinds = set(SecurityEvent.objects.filter(user=org.rep_a1).values_list("kind", flat=True))
    assert {EventKind.PASSWORD_RESET_REQUESTED, EventKind.PASSWORD_CHANGED} <= kinds


def test_reset_for_an_unknown_address_says_the_same_and_sends_nothing(org):
    response = Client().post("/account/password/reset/", {"email": "who@example.com"})
    assert response.status_code == 302
    assert response["Location"] == "/account/password/reset/sent/"
    assert mail.outbox == []
    row = SecurityEvent.objects.get(kind=EventKind.PASSWORD_RESET_REQUESTED)
    assert row.user is None
    assert "no active account" in row.detail


def test_a_forged_reset_link_is_refused(org):
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    uid = urlsafe_base64_encode(force_bytes(org.rep_a2.pk))
    page = Client().get(f"/account/password/reset/{uid}/set-password-forged/", follow=True)
    assert page.status_code == 200
    assert not page.context["validlink"]
    assert "no longer works" in page.content.decode()


def test_reset_pages_render_for_anonymous_users(db):
    client = Client()
    for path in (
        "/account/password/reset/",
        "/account/password/reset/sent/",
        "/account/password/reset/complete/",
    ):
        assert client.get(path).status_code == 200
