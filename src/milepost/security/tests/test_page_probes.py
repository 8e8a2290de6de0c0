"""Permission probes for the security pages, as every role.

The security log shows everyone's sign-ins and addresses: sales-ops admins only (403 for
every other role, whatever the filters). The two-factor and password-change pages only ever
show and change the asker's own account, so they are tried as every role and must show that
user's own state, never another's. Sign-in's code step and the password-reset pages serve
anonymous users and are listed in ``PUBLIC_PAGES`` of the probe meta-test.
"""

from __future__ import annotations

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from milepost.security.models import EventKind
from milepost.security.services import security_event_record
from milepost.testing.probes import probed

pytestmark = pytest.mark.django_db

EVERYONE = ["admin", "leader", "manager_a", "manager_b", "rep_a1", "rep_a2", "rep_b1", "rep_solo"]
LOG_PAGES = ("/account/events/", "/account/events.csv")
OWN_PAGES = ("/account/two-factor/", "/account/password/", "/account/password/done/")

PROBED = probed(*(("get", p) for p in LOG_PAGES + OWN_PAGES), ("post", "/account/two-factor/"))


@pytest.mark.parametrize("role", EVERYONE)
def test_the_log_is_for_admins_only(org, client_for, role):
    security_event_record(kind=EventKind.LOGIN, user=org.rep_solo, detail="secret-ish")
    client = client_for(getattr(org, role))
    for path in LOG_PAGES:
        response = client.get(path, {"user": "rep_solo"})
        if role == "admin":
            assert response.status_code == 200
        else:
            assert response.status_code == 403
            assert "secret-ish" not in response.content.decode()


@pytest.mark.parametrize("role", EVERYONE)
def test_own_account_pages_show_only_the_askers_state(org, client_for, role):
    """Another user's enrolled authenticator is neither shown nor removable from here."""
    other = org.rep_a1 if role != "rep_a1" else org.rep_a2
    theirs = TOTPDevice.objects.create(user=other, name="authenticator", confirmed=True)
    client = client_for(getattr(org, role))
    for path in OWN_PAGES:
        assert client.get(path).status_code == 200
    page = client.get("/account/two-factor/")
    assert "is <strong>off</strong>" in page.content.decode()
    assert theirs.config_url.split("secret=")[1].split("&")[0] not in page.content.decode()
    removed = client.post("/account/two-factor/", {"action": "remove", "code": "123456"})
    assert removed.status_code == 400
    assert TOTPDevice.objects.filter(pk=theirs.pk).exists()
