"""The personal API token page: create (shown once, stored hashed), list own, revoke own only."""

from __future__ import annotations

import pytest

from milepost.team.models import ApiToken
from milepost.testing.probes import probed

pytestmark = pytest.mark.django_db

# test_cannot_revoke_or_see_another_users_token: two intruders on rep_a2's token.
PROBED = probed(("get", "/team/tokens/"), ("post", "/team/tokens/1/revoke/"))


def test_create_shows_secret_once_and_stores_only_digest(org, client_for):
    client = client_for(org.rep_a1)
    response = client.post("/team/tokens/", {"name": "forecast export"})
    assert response.status_code == 200
    secret = response.context["issued"].secret
    assert secret.startswith("mp_")
    assert secret in response.content.decode()
    token = ApiToken.objects.get(user=org.rep_a1)
    assert token.digest == ApiToken.digest_of(secret)
    assert secret not in token.digest
    assert secret not in client.get("/team/tokens/").content.decode()


def test_empty_name_is_refused_with_message(org, client_for):
    response = client_for(org.rep_a1).post("/team/tokens/", {"name": "  "})
    assert response.status_code == 400
    assert "give the token a name" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_cannot_revoke_or_see_another_users_token(org, client, client_for):
    client_for(org.rep_a2).post("/team/tokens/", {"name": "theirs"})
    theirs = ApiToken.objects.get(user=org.rep_a2)
    client.logout()
    for intruder in (org.rep_a1, org.manager_b):
        c = client_for(intruder)
        assert "theirs" not in c.get("/team/tokens/").content.decode()
        assert c.post(f"/team/tokens/{theirs.pk}/revoke/").status_code == 404
        c.logout()
    theirs.refresh_from_db()
    assert theirs.is_active


def test_revoke_own_token(org, client_for):
    client = client_for(org.rep_a1)
    client.post("/team/tokens/", {"name": "mine"})
    token = ApiToken.objects.get(user=org.rep_a1)
    assert client.post(f"/team/tokens/{token.pk}/revoke/").status_code == 302
    token.refresh_from_db()
    assert not token.is_active


def test_anonymous_is_sent_to_login(client):
    response = client.get("/team/tokens/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]
