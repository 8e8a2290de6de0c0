"""The probe's finding 1: through Django's admin a sales-ops admin could act as anyone.

Each test replays one step the probe took and checks that it is now refused: re-pointing a
token at another user (then reading and writing their private coaching notes as them),
bringing a revoked token back, listing every user's tokens, setting a user's password, and
reading TOTP secrets or coaching records there. What the admin may do instead (send a
password-reset email) is tested too.
"""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

from milepost.security.models import EventKind, SecurityEvent
from milepost.team.models import ApiToken
from milepost.team.services import api_token_create, api_token_revoke

pytestmark = pytest.mark.django_db


def _bearer(secret: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {secret}"})


def test_a_token_cannot_be_repointed_at_another_user(org, client_for):
    issued = api_token_create(user=org.admin, name="mine")
    client = client_for(org.admin)
    change = f"/admin/team/apitoken/{issued.token.pk}/change/"
    assert client.get(change).status_code == 404
    response = client.post(
        change,
        {
            "user": org.manager_a.pk,
            "name": "mine",
            "expires_at_0": "2099-01-01",
            "expires_at_1": "00:00:00",
        },
    )
    assert response.status_code == 404
    issued.token.refresh_from_db()
    assert issued.token.user == org.admin
    # So the token still answers as its owner, never as the manager whose notes are private.
    assert _bearer(issued.secret).get("/api/v1/me").json()["username"] == "admin"


def test_a_revoked_token_cannot_be_brought_back(org, client_for):
    issued = api_token_create(user=org.rep_a1, name="leaked")
    api_token_revoke(user=org.rep_a1, token_id=issued.token.pk)
    client = client_for(org.admin)
    response = client.post(
        f"/admin/team/apitoken/{issued.token.pk}/change/",
        {"user": org.rep_a1.pk, "name": "leaked", "revoked_at_0": "", "revoked_at_1": ""},
    )
    assert response.status_code == 404
    issued.token.refresh_from_db()
    assert issued.token.revoked_at is not None
    assert _bearer(issued.secret).get("/api/v1/me").status_code == 401


def test_the_admin_does_not_list_or_add_tokens(org, client_for):
    api_token_create(user=org.rep_a1, name="theirs")
    client = client_for(org.admin)
    assert client.get("/admin/team/apitoken/").status_code == 404
    assert client.get("/admin/team/apitoken/add/").status_code == 404
    assert "apitoken" not in client.get("/admin/").content.decode().lower()


def test_the_admin_cannot_set_a_users_password(org, client_for):
    client = client_for(org.admin)
    before = type(org.rep_a1).objects.get(pk=org.rep_a1.pk).password
    form = f"/admin/team/user/{org.rep_a1.pk}/password/"
    assert client.get(form).status_code == 404
    response = client.post(
        form,
        {"password1": "taken-over-123!", "password2": "taken-over-123!", "usable_password": "1"},
    )
    assert response.status_code == 404
    change_page = client.get(f"/admin/team/user/{org.rep_a1.pk}/change/")
    assert "password" not in change_page.context["adminform"].form.fields
    assert f"/admin/team/user/{org.rep_a1.pk}/password/" not in change_page.content.decode()
    assert type(org.rep_a1).objects.get(pk=org.rep_a1.pk).password == before
    taken = Client().post("/login/", {"username": "rep_a1", "password": "taken-over-123!"})
    assert taken.status_code == 200  # the form again: that password was never set


def test_a_new_user_gets_no_password_from_the_admin(org, client_for):
    client = client_for(org.admin)
    response = client.post(
        "/admin/team/user/add/",
        {"username": "new_rep", "email": "new@example.com", "role": "rep", "region": ""},
    )
    assert response.status_code == 302
    new = type(org.rep_a1).objects.get(username="new_rep")
    assert not new.has_usable_password()


def test_the_admin_sends_a_password_reset_email_instead(org, client_for):
    org.rep_a1.email = "rep_a1@example.com"
    org.rep_a1.save(update_fields=["email"])
    org.rep_a1.set_unusable_password()
    org.rep_a1.save(update_fields=["password"])
    client = client_for(org.admin)
    response = client.post(
        "/admin/team/user/",
        {"action": "send_password_reset", "_selected_action": [org.rep_a1.pk, org.rep_b1.pk]},
    )
    assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [["rep_a1@example.com"]]  # rep_b1 has no address
    link = re.search(r"http://testserver(/account/password/reset/\S+/)", mail.outbox[0].body)
    assert link, mail.outbox[0].body
    # The user (not the admin) follows the link and chooses the password.
    user = Client()
    form = user.get(link.group(1), follow=True)
    assert form.status_code == 200
    assert form.context["validlink"]
    done = user.post(
        form.redirect_chain[-1][0],
        {"new_password1": "chosen-by-me-2026", "new_password2": "chosen-by-me-2026"},
    )
    assert done.status_code == 302
    assert (
        Client()
        .post("/login/", {"username": "rep_a1", "password": "chosen-by-me-2026"})
        .status_code
        == 302
    )
    sent = SecurityEvent.objects.get(kind=EventKind.PASSWORD_RESET_SENT)
    assert (sent.user, sent.detail) == (org.rep_a1, "sent by admin")
    assert SecurityEvent.objects.filter(kind=EventKind.PASSWORD_CHANGED, user=org.rep_a1).exists()


def test_otp_secrets_and_coaching_records_are_not_in_the_admin(org, client_for):
    client = client_for(org.admin)
    assert client.get("/admin/otp_totp/totpdevice/").status_code == 404
    for model in ("coachingsession", "agendaitem", "actionitem", "skillrating"):
        assert client.get(f"/admin/coaching/{model}/").status_code == 404


def test_deactivating_a_user_cuts_their_tokens(org):
    """What an admin does instead of revoking someone else's token."""
    secret = api_token_create(user=org.rep_a1, name="script").secret
    org.rep_a1.is_active = False
    org.rep_a1.save(update_fields=["is_active"])
    assert _bearer(secret).get("/api/v1/me").status_code == 401
    # The row is untouched: the refusal comes from the user's state.
    assert ApiToken.objects.filter(user=org.rep_a1, revoked_at__isnull=True).exists()


def test_the_admin_removes_a_lost_authenticator_without_seeing_it(org, client_for):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.create(user=org.rep_a1, name="authenticator", confirmed=True)
    response = client_for(org.admin).post(
        "/admin/team/user/",
        {"action": "remove_two_factor", "_selected_action": [org.rep_a1.pk, org.rep_a2.pk]},
    )
    assert response.status_code == 302
    assert not TOTPDevice.objects.exists()
    removed = SecurityEvent.objects.get(kind=EventKind.OTP_REMOVED)
    assert (removed.user, removed.detail) == (org.rep_a1, "by admin (admin)")
    assert (
        SecurityEvent.objects.filter(
            kind=EventKind.ADMIN_ACTION, detail__contains="Removed the two-factor"
        ).count()
        == 1
    )
