"""Optional TOTP two-factor: enrol (secret + QR, confirm with a code), then sign-in asks for
the code; codes are computed with django-otp's own TOTP, never hard-coded."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from milepost.security.models import EventKind, SecurityEvent
from milepost.security.sessions import PENDING_OTP_USER
from milepost.testing.factories import PASSWORD

pytestmark = pytest.mark.django_db


def _code(device: TOTPDevice, offset_steps: int = 0) -> str:
    """The device's code for the current time step (or a neighbour), as an app would show."""
    t0 = device.t0 - offset_steps * device.step
    return f"{totp(device.bin_key, device.step, t0, device.digits, device.drift):06d}"


def _enrol(client: Client, user) -> TOTPDevice:
    page = client.get("/account/two-factor/")
    assert page.status_code == 200
    assert "<svg" in page.content.decode()
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    assert page.context["secret"] in device.config_url
    response = client.post("/account/two-factor/", {"action": "confirm", "code": _code(device)})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    return device


def _password_step(username: str = "rep_a1") -> Client:
    client = Client()
    response = client.post("/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/account/login/code/"
    assert "_auth_user_id" not in client.session
    return client


def test_enrol_then_sign_in_needs_the_code(org, client_for):
    device = _enrol(client_for(org.rep_a1), org.rep_a1)
    assert SecurityEvent.objects.filter(kind=EventKind.OTP_ENROLLED, user=org.rep_a1).exists()
    client = _password_step()
    # Not signed in yet: pages still send to sign-in.
    assert client.get("/team/tokens/").status_code == 302
    page = client.get("/account/login/code/")
    assert page.status_code == 200
    assert 'name="csrfmiddlewaretoken"' in page.content.decode()
    # Code of the next step: the device has not used it (one code per step, replay-proof).
    device.refresh_from_db()
    response = client.post("/account/login/code/", {"code": _code(device, offset_steps=1)})
    assert response.status_code == 302
    assert response["Location"] == "/pipeline/"
    assert client.session["_auth_user_id"] == str(org.rep_a1.pk)
    assert client.get("/team/tokens/").status_code == 200
    assert SecurityEvent.objects.filter(kind=EventKind.LOGIN, user=org.rep_a1).exists()


def test_a_wrong_code_is_refused_and_logged(org, client_for):
    device = _enrol(client_for(org.rep_a1), org.rep_a1)
    client = _password_step()
    wrong = f"{(int(_code(device)) + 1) % 1_000_000:06d}"
    response = client.post("/account/login/code/", {"code": wrong})
    assert response.status_code == 400
    assert "_auth_user_id" not in client.session
    assert "code" in response.context["form"].errors
    failed = SecurityEvent.objects.get(kind=EventKind.OTP_FAILED)
    assert (failed.user, failed.detail) == (org.rep_a1, "sign-in")
    # Malformed input is a 400 naming the field, not an error page.
    assert client.post("/account/login/code/", {"code": "abc"}).status_code == 400


def test_wrong_codes_are_throttled(org, client_for):
    device = _enrol(client_for(org.rep_a1), org.rep_a1)
    client = _password_step()
    wrong = f"{(int(_code(device)) + 1) % 1_000_000:06d}"
    assert client.post("/account/login/code/", {"code": wrong}).status_code == 400
    # After a failure django-otp makes the next try wait, even with the right code.
    device.refresh_from_db()
    assert device.throttling_failure_count == 1
    response = client.post("/account/login/code/", {"code": _code(device)})
    assert response.status_code == 400
    assert "too many wrong codes" in response.content.decode()


def test_the_code_step_without_a_password_step_goes_back_to_sign_in(org):
    response = Client().get("/account/login/code/")
    assert response.status_code == 302
    assert response["Location"] == "/login/"


def test_a_stale_password_step_expires(org, client_for):
    _enrol(client_for(org.rep_a1), org.rep_a1)
    client = _password_step()
    session = client.session
    session[PENDING_OTP_USER] = [org.rep_a1.pk, int(time.time()) - 301]
    session.save()
    assert client.get("/account/login/code/")["Location"] == "/login/"


def test_users_without_two_factor_sign_in_with_the_password(org):
    response = Client().post("/login/", {"username": "rep_a2", "password": PASSWORD})
    assert response["Location"] == "/pipeline/"


def test_enrolment_needs_a_valid_code(org, client_for):
    client = client_for(org.rep_a1)
    client.get("/account/two-factor/")
    device = TOTPDevice.objects.get(user=org.rep_a1)
    wrong = f"{(int(_code(device)) + 1) % 1_000_000:06d}"
    response = client.post("/account/two-factor/", {"action": "confirm", "code": wrong})
    assert response.status_code == 400
    device.refresh_from_db()
    assert not device.confirmed
    # Unconfirmed, it is not asked for at sign-in.
    assert (
        Client().post("/login/", {"username": "rep_a1", "password": PASSWORD})["Location"]
        == "/pipeline/"
    )


def test_remove_needs_a_current_code(org, client_for):
    client = client_for(org.rep_a1)
    device = _enrol(client, org.rep_a1)
    assert "is <strong>on</strong>" in client.get("/account/two-factor/").content.decode()
    device.refresh_from_db()
    response = client.post(
        "/account/two-factor/", {"action": "remove", "code": _code(device, offset_steps=1)}
    )
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=org.rep_a1).exists()
    assert SecurityEvent.objects.filter(kind=EventKind.OTP_REMOVED).exists()


def test_a_role_can_be_required_to_enrol(org, client_for, settings):
    settings.MILEPOST_OTP_REQUIRED_ROLES = ["admin"]
    admin = client_for(org.admin)
    response = admin.get("/pipeline/")
    assert response.status_code == 302
    assert response["Location"] == "/account/two-factor/"
    assert admin.get("/account/two-factor/").status_code == 200
    # Other roles are not concerned.
    assert client_for(org.rep_a1).get("/team/tokens/").status_code == 200
    # Once enrolled (and verified on this session) the admin gets through.
    _enrol(client_for(org.admin), org.admin)
    unverified = Client()
    unverified.force_login(org.admin)  # a session that skipped the code step
    assert unverified.get("/team/tokens/")["Location"] == "/login/?next=/team/tokens/"
    assert "_auth_user_id" not in unverified.session
    client = _password_step("admin")
    device = TOTPDevice.objects.get(user=org.admin)
    client.post("/account/login/code/", {"code": _code(device, offset_steps=1)})
    assert client.get("/team/tokens/").status_code == 200
