"""The security log records sign-ins, sign-outs, token changes, 403s and admin actions; it is
append-only; admins read it on a page (filters, paging) and export it as a safe CSV."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import IntegrityError, transaction
from django.test import Client

from milepost.core.exports import safe_cell
from milepost.core.models import AppendOnlyError
from milepost.security.log_views import PAGE_SIZE
from milepost.security.models import EventKind, SecurityEvent
from milepost.security.services import security_event_record
from milepost.team.models import ApiToken
from milepost.testing.factories import PASSWORD

pytestmark = pytest.mark.django_db


def _kinds(**filters) -> list[str]:
    return list(SecurityEvent.objects.filter(**filters).values_list("kind", flat=True))


def test_sign_in_and_sign_out_are_recorded(org):
    client = Client()
    assert client.post("/login/", {"username": "rep_a1", "password": PASSWORD}).status_code == 302
    client.post("/logout/")
    assert _kinds(user=org.rep_a1) == [EventKind.LOGOUT, EventKind.LOGIN]
    login = SecurityEvent.objects.get(kind=EventKind.LOGIN)
    assert (login.ip_address, login.method, login.path) == ("127.0.0.1", "POST", "/login/")


def test_token_creation_and_revocation_are_recorded(org, client_for):
    client = client_for(org.rep_a1)
    client.post("/team/tokens/", {"name": "nightly"})
    token = ApiToken.objects.get(user=org.rep_a1)
    client.post(f"/team/tokens/{token.pk}/revoke/")
    created, revoked = (
        SecurityEvent.objects.get(kind=EventKind.TOKEN_CREATED),
        SecurityEvent.objects.get(kind=EventKind.TOKEN_REVOKED),
    )
    assert created.user == revoked.user == org.rep_a1
    assert "nightly" in created.detail
    assert token.key_prefix in revoked.detail
    # Secrets never reach the log.
    assert "mp_" not in created.detail.replace(token.key_prefix, "")


def test_every_403_is_recorded_centrally(org, client_for):
    client = client_for(org.rep_a1)
    assert client.get("/account/events/").status_code == 403
    denied = SecurityEvent.objects.get(kind=EventKind.PERMISSION_DENIED)
    assert (denied.user, denied.path, denied.method) == (org.rep_a1, "/account/events/", "GET")


def test_an_api_403_is_recorded_with_the_token_user(org):
    from milepost.testing.clients import api_client

    client = api_client(org.rep_a1, auth="token")
    response = client.put(
        "/api/v1/coaching/competency-model",
        data='{"text": "x", "version": 1}',
        content_type="application/json",
    )
    assert response.status_code == 403
    denied = SecurityEvent.objects.get(kind=EventKind.PERMISSION_DENIED)
    assert (denied.user, denied.method) == (org.rep_a1, "PUT")


def test_admin_site_changes_are_recorded(org, client_for):
    client = client_for(org.admin)
    response = client.post(
        f"/admin/team/user/{org.rep_a1.pk}/change/",
        {
            "username": "rep_a1",
            "first_name": "Renamed",
            "last_name": org.rep_a1.last_name,
            "email": "",
            "is_active": "on",
            "role": "rep",
            "manager": org.manager_a.pk,
            "region": "",
            "title": "",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    row = SecurityEvent.objects.get(kind=EventKind.ADMIN_ACTION)
    assert row.user == org.admin
    assert f"changed team.user {org.rep_a1.pk}" in row.detail
    assert "First name" in row.detail


def test_events_are_append_only(org):
    row = security_event_record(kind=EventKind.LOGIN, user=org.rep_a1)
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        row.delete()
    with pytest.raises(IntegrityError), transaction.atomic():
        SecurityEvent.objects.filter(pk=row.pk).update(detail="tidied")
    with pytest.raises(IntegrityError), transaction.atomic():
        SecurityEvent.objects.filter(pk=row.pk).delete()


@pytest.mark.parametrize("role", ["leader", "manager_a", "rep_a1"])
def test_only_admins_read_the_log(org, client_for, role):
    client = client_for(getattr(org, role))
    assert client.get("/account/events/").status_code == 403
    assert client.get("/account/events.csv").status_code == 403
    assert client.get("/account/events/?date_from=nonsense").status_code == 403


def test_anonymous_is_sent_to_sign_in(client):
    for path in ("/account/events/", "/account/events.csv"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")


def test_admin_filters_by_user_kind_and_date_and_pages(org, client_for):
    for _ in range(PAGE_SIZE + 1):
        security_event_record(kind=EventKind.LOGIN_FAILED, username="rep_b1")
    security_event_record(kind=EventKind.LOGIN, user=org.rep_a2)
    client = client_for(org.admin)
    page = client.get("/account/events/", {"user": "rep_b1", "kind": "login_failed"})
    assert page.status_code == 200
    assert page.context["page"].paginator.count == PAGE_SIZE + 1
    assert len(page.context["page"].object_list) == PAGE_SIZE
    assert "rep_a2" not in {e.username for e in page.context["page"].object_list}
    second = client.get("/account/events/", {"user": "rep_b1", "kind": "login_failed", "page": 2})
    assert len(second.context["page"].object_list) == 1
    only_a2 = client.get("/account/events/", {"user": "REP_A2"}).context["page"]
    assert [e.kind for e in only_a2] == [EventKind.LOGIN]
    # Nothing happened before 2000 or after 2999.
    assert (
        client.get("/account/events/", {"date_to": "2000-01-01"}).context["page"].paginator.count
        == 0
    )
    today = SecurityEvent.objects.first().at.date().isoformat()
    assert (
        client.get("/account/events/", {"date_from": today, "date_to": today})
        .context["page"]
        .paginator.count
        == SecurityEvent.objects.count()
    )


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"date_from": "yesterday"}, "date_from"),
        ({"kind": "sneaky"}, "kind"),
        ({"date_from": "2026-02-02", "date_to": "2026-02-01"}, "date_to"),
    ],
)
def test_bad_filters_answer_400_naming_the_field(org, client_for, query, field):
    client = client_for(org.admin)
    page = client.get("/account/events/", query)
    assert page.status_code == 400
    assert field in page.context["form"].errors
    export = client.get("/account/events.csv", query)
    assert export.status_code == 400
    assert field in export.text


def test_csv_export_is_filtered_and_formula_safe(org, client_for):
    security_event_record(kind=EventKind.LOGIN_FAILED, username='=HYPERLINK("http://x")')
    security_event_record(kind=EventKind.LOGIN, user=org.rep_a1)
    response = client_for(org.admin).get("/account/events.csv", {"kind": "login_failed"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["at", "kind", "username"]
    assert [r[2] for r in rows[1:]] == ['\'=HYPERLINK("http://x")']


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("plain", "plain"),
        (None, ""),
        (42, "42"),
    ],
)
def test_security_log_cells_go_through_the_core_neutraliser(cell, expected):
    assert str(safe_cell(cell)) == expected
