"""Every form of the account pages refuses a POST without the CSRF token (and logs the 403)."""

from __future__ import annotations

import pytest
from django.test import Client

from milepost.security.models import EventKind, SecurityEvent
from milepost.testing.factories import PASSWORD

pytestmark = pytest.mark.django_db

SIGNED_IN_FORMS = [
    ("/account/password/", {"old_password": PASSWORD, "new_password1": "x", "new_password2": "x"}),
    ("/account/two-factor/", {"action": "confirm", "code": "123456"}),
    ("/team/tokens/", {"name": "no csrf"}),
]
ANONYMOUS_FORMS = [
    ("/login/", {"username": "rep_a1", "password": PASSWORD}),
    ("/account/password/reset/", {"email": "rep_a1@example.com"}),
    ("/account/login/code/", {"code": "123456"}),
]


@pytest.mark.parametrize(("path", "data"), SIGNED_IN_FORMS)
def test_signed_in_forms_need_the_csrf_token(org, path, data):
    client = Client(enforce_csrf_checks=True)
    client.force_login(org.rep_a1)
    response = client.post(path, data)
    assert response.status_code == 403
    denied = SecurityEvent.objects.get(kind=EventKind.PERMISSION_DENIED)
    assert (denied.user, denied.path) == (org.rep_a1, path)


@pytest.mark.parametrize(("path", "data"), ANONYMOUS_FORMS)
def test_anonymous_forms_need_the_csrf_token(org, path, data):
    client = Client(enforce_csrf_checks=True)
    assert client.post(path, data).status_code == 403
    assert "_auth_user_id" not in client.session
