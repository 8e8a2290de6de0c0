"""``/api/v1/me`` and personal tokens: issued once, personal, revocable, session-only to issue."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from milepost.team.models import ApiToken
from milepost.team.services import api_token_create
from milepost.testing.probes import probed

pytestmark = pytest.mark.django_db

API = "/api/v1"
# test_nobody_sees_or_revokes_another_users_tokens: three viewers on others' tokens.
# test_every_role_reads_itself_and_issues_its_own_tokens: every role on its own data.
PROBED = probed(
    ("get", f"{API}/me/tokens"),
    ("delete", f"{API}/me/tokens/1"),
    ("get", f"{API}/me"),
    ("post", f"{API}/me/tokens"),
)
EVERYONE = ["admin", "leader", "manager_a", "manager_b", "rep_a1", "rep_a2", "rep_b1", "rep_solo"]


def _bearer(secret: str, **kwargs) -> Client:
    return Client(headers={"Authorization": f"Bearer {secret}"}, **kwargs)


def _post(client: Client, path: str, body: dict):
    return client.post(path, data=json.dumps(body), content_type="application/json")


def test_me_answers_for_session_and_token(org):
    session = Client()
    session.force_login(org.manager_a)
    me = session.get(f"{API}/me").json()
    assert (me["username"], me["role"], me["manager_id"]) == ("manager_a", "manager", org.leader.pk)

    secret = api_token_create(user=org.rep_b1, name="script").secret
    assert _bearer(secret).get(f"{API}/me").json()["username"] == "rep_b1"


def test_issue_list_use_and_revoke_a_token(org):
    session = Client()
    session.force_login(org.rep_a1)

    issued = _post(session, f"{API}/me/tokens", {"name": "nightly export"})
    assert issued.status_code == 201
    secret = issued.json()["secret"]
    token_id = issued.json()["token"]["id"]
    assert secret.startswith("mp_")
    assert issued.json()["token"]["key_prefix"] == secret[:10]
    # Stored as a digest only; the list never shows the secret again.
    stored = ApiToken.objects.get(pk=token_id)
    assert secret not in (stored.digest, stored.key_prefix)
    listed = session.get(f"{API}/me/tokens").json()
    assert [t["id"] for t in listed] == [token_id]
    assert "secret" not in listed[0]
    assert secret not in json.dumps(listed)

    script = _bearer(secret)
    assert script.get(f"{API}/me").json()["username"] == "rep_a1"
    assert ApiToken.objects.get(pk=token_id).last_used_at is not None

    assert session.delete(f"{API}/me/tokens/{token_id}").status_code == 204
    assert script.get(f"{API}/me").status_code == 401
    assert script.get(f"{API}/opportunities").status_code == 401
    assert session.get(f"{API}/me/tokens").json()[0]["is_active"] is False


def test_a_token_can_revoke_itself_but_not_issue_new_ones(org):
    secret = api_token_create(user=org.rep_a1, name="ci").secret
    token_id = ApiToken.objects.get(user=org.rep_a1).pk
    script = _bearer(secret)

    # A leaked token must not be able to mint successors that outlive its revocation.
    assert _post(script, f"{API}/me/tokens", {"name": "more"}).status_code == 401
    assert ApiToken.objects.filter(user=org.rep_a1).count() == 1

    assert script.delete(f"{API}/me/tokens/{token_id}").status_code == 204
    assert script.get(f"{API}/me").status_code == 401


@pytest.mark.parametrize("who", EVERYONE)
def test_every_role_reads_itself_and_issues_its_own_tokens(org, who):
    """``/me`` and issuing a token concern only the caller: each role gets its own, never
    anyone else's, and the new token is listed for it alone."""
    user = getattr(org, who)
    client = Client()
    client.force_login(user)
    me = client.get(f"{API}/me")
    assert me.status_code == 200
    assert (me.json()["id"], me.json()["username"]) == (user.pk, who)
    issued = _post(client, f"{API}/me/tokens", {"name": f"{who} script"})
    assert issued.status_code == 201
    assert list(ApiToken.objects.values_list("user_id", flat=True)) == [user.pk]
    assert [t["name"] for t in client.get(f"{API}/me/tokens").json()] == [f"{who} script"]


@pytest.mark.parametrize("owner", ["rep_a2", "manager_a", "admin"])
def test_nobody_sees_or_revokes_another_users_tokens(org, owner):
    theirs = api_token_create(user=getattr(org, owner), name="theirs").token
    for viewer in (org.rep_a1, org.manager_a, org.admin):
        if viewer.username == owner:
            continue
        client = Client()
        client.force_login(viewer)
        assert theirs.pk not in {t["id"] for t in client.get(f"{API}/me/tokens").json()}
        response = client.delete(f"{API}/me/tokens/{theirs.pk}")
        assert response.status_code == 404
        assert set(response.json()) == {"detail"}
    theirs.refresh_from_db()
    assert theirs.is_active


def test_token_needs_a_name(org):
    client = Client()
    client.force_login(org.rep_a1)
    response = _post(client, f"{API}/me/tokens", {"name": "   "})
    assert response.status_code == 422
    assert response.json()["field"] == "name"
    assert not ApiToken.objects.exists()


def test_issuing_a_token_through_the_session_needs_csrf(org):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(org.rep_a1)
    assert _post(browser, f"{API}/me/tokens", {"name": "x"}).status_code == 403
    browser.get(f"{API}/docs")  # sets the CSRF cookie, as the browser would have it
    response = browser.post(
        f"{API}/me/tokens",
        data=json.dumps({"name": "x"}),
        content_type="application/json",
        headers={"X-CSRFToken": browser.cookies["csrftoken"].value},
    )
    assert response.status_code == 201
    assert ApiToken.objects.filter(user=org.rep_a1).count() == 1


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/me"), ("get", "/me/tokens"), ("post", "/me/tokens"), ("delete", "/me/tokens/1")],
)
def test_anonymous_and_bad_tokens_get_401(org, method, path):
    for client in (Client(), _bearer("mp_not-a-real-token"), _bearer("something-else")):
        if method == "get":
            response = client.get(API + path)
        else:
            response = getattr(client, method)(
                API + path, data=json.dumps({"name": "x"}), content_type="application/json"
            )
        assert response.status_code == 401
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "/opportunities/1/move"), ("patch", "/opportunities/1"), ("delete", "/me/tokens/1")],
)
def test_a_script_with_a_revoked_token_gets_401_not_a_csrf_error(org, method, path):
    """Scripts have no session; a bad token on a write must read as 'not authenticated'."""
    issued = api_token_create(user=org.rep_a1, name="nightly sync")
    client = _bearer(issued.secret, enforce_csrf_checks=True)
    client.delete(f"{API}/me/tokens/{issued.token.pk}")  # revokes itself
    response = getattr(client, method)(
        f"{API}{path}", data=json.dumps({"version": 1}), content_type="application/json"
    )
    assert response.status_code == 401
