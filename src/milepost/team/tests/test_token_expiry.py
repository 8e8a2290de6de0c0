"""API tokens expire (90 days by default, at most 365) and record when they were last used,
at most once a minute; an expired token answers 401 and shows as expired on the token page."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from milepost.core.errors import InvalidChange
from milepost.team.models import ApiToken
from milepost.team.services import api_token_create

pytestmark = pytest.mark.django_db


def _bearer(secret: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {secret}"})


def _days_left(token: ApiToken) -> float:
    return (token.expires_at - timezone.now()).total_seconds() / 86400


def test_default_lifetime_is_90_days(org):
    token = api_token_create(user=org.rep_a1, name="script").token
    assert 89.9 < _days_left(token) <= 90


@pytest.mark.parametrize("days", [1, 30, 365, "7"])
def test_a_lifetime_can_be_chosen_up_to_the_maximum(org, days):
    token = api_token_create(user=org.rep_a1, name="script", expires_in_days=days).token
    assert int(days) - 0.1 < _days_left(token) <= int(days)


@pytest.mark.parametrize("days", [0, -3, 366, 10_000, "soon", "1.5"])
def test_lifetimes_out_of_range_are_refused(org, days):
    with pytest.raises(InvalidChange) as refused:
        api_token_create(user=org.rep_a1, name="script", expires_in_days=days)
    assert refused.value.field == "expires_in_days"
    assert not ApiToken.objects.exists()


def test_an_expired_token_is_refused_with_401(org):
    issued = api_token_create(user=org.rep_a1, name="script")
    assert _bearer(issued.secret).get("/api/v1/me").status_code == 200
    ApiToken.objects.filter(pk=issued.token.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert _bearer(issued.secret).get("/api/v1/me").status_code == 401


def test_last_used_is_written_at_most_once_a_minute(org):
    issued = api_token_create(user=org.rep_a1, name="script")
    client = _bearer(issued.secret)
    client.get("/api/v1/me")
    first = ApiToken.objects.get(pk=issued.token.pk).last_used_at
    assert first is not None
    client.get("/api/v1/me")
    assert ApiToken.objects.get(pk=issued.token.pk).last_used_at == first
    ApiToken.objects.filter(pk=issued.token.pk).update(last_used_at=first - timedelta(minutes=2))
    client.get("/api/v1/me")
    assert ApiToken.objects.get(pk=issued.token.pk).last_used_at > first - timedelta(minutes=2)


def test_the_api_issues_with_a_lifetime_and_names_a_bad_one(org):
    session = Client()
    session.force_login(org.rep_a1)
    ok = session.post(
        "/api/v1/me/tokens",
        data=json.dumps({"name": "weekly", "expires_in_days": 7}),
        content_type="application/json",
    )
    assert ok.status_code == 201
    assert "expires_at" in ok.json()["token"]
    bad = session.post(
        "/api/v1/me/tokens",
        data=json.dumps({"name": "forever", "expires_in_days": 5000}),
        content_type="application/json",
    )
    assert bad.status_code == 422
    assert bad.json()["field"] == "expires_in_days"
    assert ApiToken.objects.filter(user=org.rep_a1).count() == 1


def test_the_token_page_offers_lifetimes_and_shows_expiry(org, client_for):
    client = client_for(org.rep_a1)
    page = client.get("/team/tokens/").content.decode()
    assert 'name="expires_in_days"' in page
    assert '<option value="90" selected>' in page
    assert client.post("/team/tokens/", {"name": "s", "expires_in_days": "30"}).status_code == 200
    token = ApiToken.objects.get(user=org.rep_a1)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(days=1))
    listed = client.get("/team/tokens/").content.decode()
    assert "expired" in listed
    refused = client.post("/team/tokens/", {"name": "s", "expires_in_days": "999"})
    assert refused.status_code == 400
    assert 'id="lifetime-error"' in refused.content.decode()
